"""Per-asset state out and back in: an operator restored from a snapshot (through JSON, as the
changelog carries it) goes on exactly as one that never stopped."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgewatch.errors import StateError
from edgewatch.operators import (
    PREFILTERS,
    Cascade,
    EWZScore,
    IncidentTracker,
    Prefilter,
    Scored,
    SequenceGuard,
    WindowBatch,
    make_detector,
)
from edgewatch.records import SensorRecord
from tests.operators.test_cascade import CARD, _model


def _json(saved: dict[str, Any] | None) -> dict[str, Any]:
    assert saved is not None
    out: dict[str, Any] = orjson.loads(orjson.dumps(saved))
    return out


def _records(items: list[tuple[str, float, float | None]]) -> list[SensorRecord]:
    seqs: dict[str, int] = {}
    records = []
    for asset, a, b in items:
        seqs[asset] = seqs.get(asset, -1) + 1
        values = {"a": a} if b is None else {"a": a, "b": b}
        records.append(SensorRecord(asset, 1_000 * seqs[asset], seqs[asset], values, "t"))
    return records


ITEMS = st.lists(
    st.tuples(st.sampled_from("xy"), st.floats(-5, 5), st.none() | st.floats(-5, 5)),
    max_size=50,
)


@settings(max_examples=40, deadline=None)
@given(ITEMS, st.integers(0, 50))
def test_a_restored_cascade_continues_as_if_uninterrupted(
    items: list[tuple[str, float, float | None]], split: int
) -> None:
    """Windows (carried-forward channels, warm-up count) and the gate's holds survive."""
    records = _records(items)
    whole = Cascade.from_card(CARD, _model, batch_size=3)
    want = whole.process(records[:split]) + whole.process(records[split:])
    before = Cascade.from_card(CARD, _model, batch_size=3)
    got = before.process(records[:split])
    after = Cascade.from_card(CARD, _model, batch_size=3)
    for asset in {r.asset for r in records[:split]}:
        after.restore(asset, _json(before.state_of(asset)))
    got += after.process(records[split:])
    assert [(g.record, g.score, g.decision, g.woken) for g in got] == [
        (w.record, w.score, w.decision, w.woken) for w in want
    ]
    assert before.warming + after.warming == whole.warming


class _FixedGate:
    def wakes(self, score: float) -> bool:
        return score >= 1.5


@pytest.mark.parametrize("kind", ["ewzscore", "online"])
def test_a_restored_prefilter_scores_and_learns_as_before(kind: str) -> None:
    rng = np.random.default_rng(7)
    values = rng.normal(size=(1_600, 4, 2))
    values[::37] += 6.0  # outliers the "normal" policy does not learn

    def prefilter() -> Prefilter:
        return Prefilter(make_detector(kind, ["a", "b"]), ["a", "b"], gate=_FixedGate())

    def scores(p: Prefilter, rows: np.ndarray) -> list[float]:
        records = [SensorRecord("x", i, i, {"a": 0.0}, "t") for i in range(len(rows))]
        out = p.process(WindowBatch(records, rows)).prefilter
        assert out is not None
        return out.tolist()

    whole, before, after = prefilter(), prefilter(), prefilter()
    want = scores(whole, values)
    got = scores(before, values[:1_300])
    after.restore("x", _json(before.state_of("x")))
    assert got + scores(after, values[1_300:]) == want
    assert after.skipped == whole.skipped


@pytest.mark.parametrize("kind", [k for k in PREFILTERS if k not in ("ewzscore", "online")])
def test_river_object_prefilters_carry_no_state_and_relearn(kind: str) -> None:
    prefilter = Prefilter(make_detector(kind, ["a"]), ["a"])
    prefilter.process(WindowBatch([SensorRecord("x", 0, 0, {"a": 0.0}, "t")], np.zeros((1, 1, 1))))
    assert prefilter.state_of("x") is None


def test_restoring_another_kind_of_prefilter_is_refused() -> None:
    zscore = Prefilter(make_detector("ewzscore", ["a"]), ["a"])
    zscore.process(WindowBatch([SensorRecord("x", 0, 0, {"a": 0.0}, "t")], np.zeros((1, 1, 1))))
    hst = Prefilter(make_detector("hst", ["a"]), ["a"])
    with pytest.raises(StateError, match="'ewzscore', not this member's HalfSpaceTreesDetector"):
        hst.restore("x", _json(zscore.state_of("x")))


@pytest.mark.parametrize(
    "norm", [None, [0.0, -1.0, 5.0], [0.0, 1.0, 2.5], [0.0, 1.0, -1.0], [0.0, 1.0], "x"]
)
def test_a_forged_score_norm_is_refused_and_leaves_no_state(norm: object) -> None:
    zscore = Prefilter(make_detector("ewzscore", ["a"]), ["a"])
    zscore.process(WindowBatch([SensorRecord("x", 0, 0, {"a": 0.0}, "t")], np.zeros((1, 1, 1))))
    saved = {**_json(zscore.state_of("x")), "norm": norm}
    fresh = Prefilter(make_detector("ewzscore", ["a"]), ["a"])
    with pytest.raises(StateError, match="norm"):
        fresh.restore("x", saved)
    assert fresh.state_of("x") is None


def _scored(asset: str, seq: int, decision: bool) -> Scored:
    record = SensorRecord(asset, 10_000 * seq, seq, {"a": 0.0}, "t")
    return Scored(record, 0.9 if decision else 0.1, decision, ("a",) if decision else ())


@settings(max_examples=60)
@given(st.lists(st.tuples(st.sampled_from("xy"), st.booleans()), max_size=60), st.integers(0, 60))
def test_a_restored_tracker_keeps_open_incidents_and_their_ids(
    items: list[tuple[str, bool]], split: int
) -> None:
    seqs: dict[str, int] = {}
    batch = []
    for asset, decision in items:
        seqs[asset] = seqs.get(asset, -1) + 1
        batch.append(_scored(asset, seqs[asset], decision))

    def tracker() -> IncidentTracker:
        return IncidentTracker(k=2, m=3, quiet_ms=25_000, update_ms=20_000)

    whole, before, after = tracker(), tracker(), tracker()
    want = whole.process(batch)
    got = before.process(batch[:split])
    for asset in before.states:
        after.restore(asset, _json(before.state_of(asset)))
    assert after.open_incidents() == before.open_incidents()
    assert got + after.process(batch[split:]) == want


def test_sequence_guard_remembers_the_last_seq() -> None:
    before, after = SequenceGuard(), SequenceGuard()
    before.check(SensorRecord("x", 0, 7, {"a": 0.0}, "t"))
    after.restore("x", _json(before.state_of("x")))
    assert after.check(SensorRecord("x", 1, 7, {"a": 0.0}, "t")) == "repeated_seq"
    assert SequenceGuard().state_of("x") is None


@pytest.mark.parametrize(
    "saved",
    [
        {"windows": {"count": 5, "last": [1.0], "tail": [[1.0]]}},  # one channel, not two
        {"windows": {"count": 1, "last": [1.0, 2.0], "tail": [[1.0, 2.0]] * 5}},  # too long
        {"windows": None},
        {"prefilter": None},
        [],
    ],
)
def test_a_snapshot_that_does_not_fit_is_refused_and_leaves_no_state(saved: Any) -> None:
    cascade = Cascade.from_card(CARD, _model)
    with pytest.raises(StateError, match="'x'"):
        cascade.restore("x", saved)
    assert cascade.state_of("x") is None


def _valid_snapshot() -> dict[str, Any]:
    cascade = Cascade.from_card(CARD, _model, wake_rate=0.5)
    cascade.process(_records([("x", float(i), float(-i)) for i in range(80)]))
    return _json(cascade.state_of("x"))


FORGED = {
    "count 2**64": ("windows", "count", 2**64),
    "count negative": ("windows", "count", -1),
    "count a bool": ("windows", "count", True),
    "count a string": ("windows", "count", "12"),
    "count a float": ("windows", "count", 3.0),
    "last wide": ("windows", "last", [1.0] * 300),
    "last text": ("windows", "last", ["1", 2.0]),
    "tail huge": ("windows", "tail", [[1.0, 2.0]] * 10_000),
    "tail ragged": ("windows", "tail", [[1.0], [1.0, 2.0]]),
    "held beyond hold": ("gate", "held", 10**9),
    "prefilter kind": ("prefilter", "kind", "os.system"),
    "prefilter skipped": ("prefilter", "skipped", -5),
    "prefilter stats": ("prefilter", "detector", {"n": 3, "stats": {"a": [1.0, "x"]}}),
    "prefilter n": ("prefilter", "detector", {"n": 2**70, "stats": {}}),
    "prefilter too many channels": (
        "prefilter",
        "detector",
        {"n": 3, "stats": {f"c{i}": [0.0, 1.0] for i in range(300)}},
    ),
}


@pytest.mark.parametrize("name", sorted(FORGED))
def test_a_forged_field_is_refused_with_its_name_and_leaves_no_state(name: str) -> None:
    part, key, value = FORGED[name]
    saved = _valid_snapshot()
    saved[part][key] = value
    cascade = Cascade.from_card(CARD, _model, wake_rate=0.5)
    with pytest.raises(StateError, match=key):
        cascade.restore("x", saved)
    assert cascade.state_of("x") is None
    cascade.restore("x", _valid_snapshot())  # a valid one still restores afterwards


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("last_ts", 2**64),
        ("recent", [1, 0]),
        ("why", {"a": "many"}),
        ("incident", {"id": "i", "asset": "x", "opened_seq": "0"}),
    ],
)
def test_forged_incident_state_is_refused(key: str, value: object) -> None:
    tracker = IncidentTracker(k=1, m=2)
    tracker.process([_scored("x", 0, True)])
    saved = _json(tracker.state_of("x"))
    saved[key] = value
    with pytest.raises(StateError):
        IncidentTracker(k=1, m=2).restore("x", saved)


def test_a_forged_seq_is_refused() -> None:
    with pytest.raises(StateError, match="seq"):
        SequenceGuard().restore("x", {"seq": 2**64})


@settings(max_examples=50)
@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=200), st.sampled_from([0.5, 5e-4]))
def test_ewzscore_equals_rivers_ew_statistics_bit_for_bit(values: list[float], ff: float) -> None:
    from river import stats

    detector = EWZScore(fading_factor=ff, warmup=2)
    mean, var = stats.EWMean(ff), stats.EWVar(ff)
    for value in values:
        score = detector.score_one({"a": value})
        if detector.n >= 2:
            v = var.get()
            want = abs(value - mean.get()) / math.sqrt(v) if v > 0 else 0.0
            assert score == want
        detector.learn_one({"a": value})
        mean.update(value)
        var.update(value)
