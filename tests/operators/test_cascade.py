from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

from edgewatch.operators.base import Scored
from edgewatch.operators.cascade import Cascade
from edgewatch.records import SensorRecord

CARD = {
    "channels": ["a", "b"],
    "seq_len": 4,
    "scaling": {
        "mode": "per_asset",
        "mean": [0.0, 0.0],
        "std": [1.0, 1.0],
        "assets": {
            "x": {"mean": [1.0, -1.0], "std": [2.0, 0.5]},
            "y": {"mean": [0.0, 0.0], "std": [1.0, 1.0]},
        },
    },
    "threshold": 0.5,
}


def _model(w: np.ndarray) -> np.ndarray:
    """A stand-in network: a fixed smooth function of the whole window."""
    return 1 / (1 + np.exp(-(w[:, :, 0].mean(axis=1) - w[:, -1, 1])))


@settings(max_examples=40)
@given(st.lists(st.tuples(st.sampled_from("xy"), st.floats(-5, 5), st.floats(-5, 5)), max_size=60))
def test_gate_off_equals_scoring_numpy_windows(items: list[tuple[str, float, float]]) -> None:
    seqs: dict[str, int] = {}
    records = []
    for asset, a, b in items:
        seqs[asset] = seqs.get(asset, -1) + 1
        records.append(SensorRecord(asset, seqs[asset], seqs[asset], {"a": a, "b": b}, "t"))
    cascade = Cascade.from_card(CARD, _model, batch_size=3)
    got = cascade.process(records[:25]) + cascade.process(records[25:])
    for asset, (mean, std) in {
        "x": ([1.0, -1.0], [2.0, 0.5]),
        "y": ([0.0, 0.0], [1.0, 1.0]),
    }.items():
        raw = np.array([[a, b] for s, a, b in items if s == asset]).reshape(-1, 2)
        if len(raw) < 4:
            assert not [g for g in got if g.record.asset == asset]
            continue
        windows = sliding_window_view((raw - mean) / std, 4, axis=0).transpose(0, 2, 1)
        want = _model(windows)
        mine = [g for g in got if g.record.asset == asset]
        assert np.allclose([g.score for g in mine], want)
        assert [g.decision for g in mine] == (want >= 0.5).tolist()
        assert all(g.top_channels for g in mine if g.decision)
    assert cascade.warming == sum(min(n + 1, 3) for n in seqs.values())


def _records(items: list[tuple[str, float, float]]) -> list[SensorRecord]:
    seqs: dict[str, int] = {}
    out = []
    for asset, a, b in items:
        seqs[asset] = seqs.get(asset, -1) + 1
        out.append(SensorRecord(asset, seqs[asset], seqs[asset], {"a": a, "b": b}, "t"))
    return out


def _gated() -> Cascade:
    return Cascade.from_card(
        CARD, _model, wake_rate=0.3, calibration=20, hold=3, audit_every=7, batch_size=2
    )


def _row(s: Scored) -> tuple[object, ...]:
    return (s.record.asset, s.record.seq, s.score, s.decision, s.woken, s.audit, s.prefilter)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from("xyz"), st.floats(-5, 5), st.floats(-5, 5)), max_size=300),
    st.lists(st.integers(1, 40), min_size=1, max_size=12),
)
def test_gated_decisions_do_not_depend_on_the_batches(
    items: list[tuple[str, float, float]], cuts: list[int]
) -> None:
    """One record at a time, or in batches of any sizes submitted ahead of their collection
    (as the member does): the same scores, wakes, audits and decisions."""
    records = _records(items)
    one = _gated()
    alone = [s for r in records for s in one.process([r])]
    many, got, pending, at = _gated(), [], None, 0
    for size in cuts * (len(records) // max(sum(cuts), 1) + 1):
        if at >= len(records):
            break
        collect = many.submit(records[at : at + size])
        if pending is not None:
            got += pending()
        pending, at = collect, at + size
    if pending is not None:
        got += pending()
    assert [_row(s) for s in got] == [_row(s) for s in alone]


def _sentinel(w: np.ndarray) -> np.ndarray:
    """A stand-in sentinel: sure (p near 0 or 1) where the window's first channel is far from 0."""
    return 1 / (1 + np.exp(-4 * w[:, :, 0].mean(axis=1)))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from("xy"), st.floats(-5, 5), st.floats(-5, 5)), max_size=120),
    st.integers(1, 50),
)
def test_the_sentinel_answers_where_sure_and_wakes_the_model_elsewhere(
    items: list[tuple[str, float, float]], size: int
) -> None:
    records = _records(items)
    cascade = Cascade.from_card(CARD, _model, sentinel=_sentinel, confidence=0.8)
    got = [s for i in range(0, len(records), size) for s in cascade.process(records[i : i + size])]
    off = Cascade.from_card(CARD, _model).process(records)
    for mine, full in zip(got, off, strict=True):
        assert mine.prefilter is not None
        sure = abs(mine.prefilter - 0.5) * 2 >= 0.8
        assert mine.woken is not sure
        assert mine.score == (mine.prefilter if sure else full.score)
        assert mine.decision is (mine.score >= CARD["threshold"])


def test_a_card_with_pad_start_scores_every_reading_like_its_training_windows() -> None:
    """FD001's card pads each unit's start (as training did): a unit's first reading is scored,
    and its window is the first reading repeated, like `models.windows.window(pad_start=True)`."""
    from edgewatch.models.windows import Scaling, Segment, window

    raw = np.array([[1.0, 2.0], [3.0, 1.0], [0.5, -1.0]])
    rows = raw.tolist()
    records = [SensorRecord("y", i, i, {"a": a, "b": b}, "t") for i, (a, b) in enumerate(rows)]
    got = Cascade.from_card({**CARD, "pad_start": True}, _model).process(records)
    scaling = Scaling("global", np.zeros(2), np.ones(2))
    want = _model(window([Segment("y", raw, np.zeros(3, np.int64))], scaling, 4, True).x)
    assert [g.record.seq for g in got] == [0, 1, 2]
    np.testing.assert_allclose([g.score for g in got], want)
    assert Cascade.from_card(CARD, _model).process(records) == []  # without: warming up
