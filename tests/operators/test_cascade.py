from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

from edgewatch.operators.cascade import Cascade
from edgewatch.records import SensorRecord

CARD = {
    "channels": ["a", "b"],
    "seq_len": 4,
    "scaling": {
        "mode": "per_asset",
        "mean": [0.0, 0.0],
        "std": [1.0, 1.0],
        "assets": {"x": {"mean": [1.0, -1.0], "std": [2.0, 0.5]}},
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
