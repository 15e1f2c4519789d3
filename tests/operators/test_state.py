"""Per-asset state out and back in: an operator restored from a snapshot (through JSON, as the
changelog carries it) goes on exactly as one that never stopped."""

from __future__ import annotations

import os
import pickle
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
from edgewatch.operators import state as detector_state
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
    threshold = 1.5


@pytest.mark.parametrize("kind", PREFILTERS)
def test_a_restored_prefilter_scores_and_learns_as_before(kind: str) -> None:
    rng = np.random.default_rng(7)
    values = rng.normal(size=(400, 4, 2))
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
    got = scores(before, values[:300])
    after.restore("x", _json(before.state_of("x")))
    assert got + scores(after, values[300:]) == want
    assert after.skipped == whole.skipped


def test_restoring_another_kind_of_prefilter_is_refused() -> None:
    hst = Prefilter(make_detector("hst", ["a"]), ["a"])
    hst.process(WindowBatch([SensorRecord("x", 0, 0, {"a": 0.0}, "t")], np.zeros((1, 1, 1))))
    zscore = Prefilter(make_detector("ewzscore", ["a"]), ["a"])
    with pytest.raises(StateError, match="HalfSpaceTreesDetector, not this member's EWZScore"):
        zscore.restore("x", _json(hst.state_of("x")))


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


class _Exploit:
    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, ("echo owned",))


def test_detector_state_naming_other_classes_is_refused_unrun() -> None:
    text = detector_state.dump(_Exploit())
    with pytest.raises(StateError, match="system, which is not a prefilter class"):
        detector_state.load(text)


@pytest.mark.parametrize("text", ["not base64!", "", detector_state.dump([1])[:-8] + "AAAAAAAA"])
def test_corrupt_detector_state_raises_state_error(text: str) -> None:
    with pytest.raises(StateError):
        detector_state.load(text)


def test_corrupt_river_statistics_raise_state_error() -> None:
    detector = EWZScore()
    detector.learn_one({"a": 1.0})
    forged = detector.__getstate__()
    forged["stats"] = {"a": (b"\xff" * 33, b"\xff" * 65)}
    detector.__getstate__ = lambda: forged  # type: ignore[method-assign]
    with pytest.raises(StateError, match="corrupt"):
        detector_state.load(detector_state.dump(detector))


def test_every_prefilter_pickles_within_the_allowed_classes() -> None:
    for kind in PREFILTERS:
        detector = make_detector(kind, ["a", "b"])()
        detector.learn_one({"a": 1.0, "b": 2.0})
        restored = detector_state.load(detector_state.dump(detector))
        assert pickle.dumps(restored) == pickle.dumps(detector)
