from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from edgewatch.models.cascade import Costs, markdown, prefilter_scores, sweep  # noqa: E402
from edgewatch.models.windows import simulated_splits  # noqa: E402
from edgewatch.producers.simulated import FleetSpec  # noqa: E402

SPLITS = simulated_splits(spec=FleetSpec(assets=4, points=4_000))


def test_prefilter_scores_align_with_windows_and_match_a_pandas_oracle() -> None:
    scores = prefilter_scores(SPLITS, "test", fading_factor=0.01)
    assert scores.shape == (len(SPLITS.test),)
    seg = SPLITS.segments["test"][0]
    warm = next(s for s in SPLITS.segments["train"] if s.asset == seg.asset)
    mean, std = SPLITS.scaling.stats(seg.asset)
    series = np.r_[(warm.values[:, 0] - mean[0]) / std[0], (seg.values[:, 0] - mean[0]) / std[0]]
    ew_mean = pd.Series(series).ewm(alpha=0.01, adjust=False).mean().to_numpy()
    ew_sq = pd.Series(series**2).ewm(alpha=0.01, adjust=False).mean().to_numpy()
    k = len(warm.values)
    z = np.abs(series[k:] - ew_mean[k - 1 : -1]) / np.sqrt(
        ew_sq[k - 1 : -1] - ew_mean[k - 1 : -1] ** 2
    )
    expected = np.lib.stride_tricks.sliding_window_view(z, SPLITS.seq_len).max(axis=1)
    np.testing.assert_allclose(scores[: len(expected)], expected, rtol=1e-6)


def test_sweep_reports_both_gates_and_a_perfect_sentinel_loses_nothing() -> None:
    labels = {id(SPLITS.val.x): SPLITS.val.y, id(SPLITS.test.x): SPLITS.test.y}

    def oracle(x: np.ndarray) -> np.ndarray:  # knows the answer for whole splits
        return labels[id(x)].astype(float) if id(x) in labels else np.zeros(len(x))

    result = sweep(
        SPLITS, oracle, oracle, Costs(model_us=100.0, sentinel_us=10.0, prefilter_us=1.0)
    )
    gates = {r["gate"] for r in result["rows"]}
    assert gates == {"sentinel", "prefilter"}
    sentinel_rows = [r for r in result["rows"] if r["gate"] == "sentinel"]
    assert all(r["wake_rate"] == 0.0 for r in sentinel_rows)  # always confident: never wakes
    assert all(r["f1_loss"] == 0.0 for r in sentinel_rows)
    prefilter = [r for r in result["rows"] if r["gate"] == "prefilter"]
    assert prefilter[0]["wake_rate"] > prefilter[-1]["wake_rate"]  # higher quantile, fewer wakes
    assert "W for a busy edge-class CPU core" in markdown("simulated", result)


def test_windows_the_gate_did_not_wake_stay_normal() -> None:
    from edgewatch.models.cascade import _gated

    y = np.array([1, 1, 0, 0, 1])
    scores = np.array([0.9, 0.8, 0.1, 0.2, 0.95])
    woken = np.array([True, True, True, True, False])  # the last positive was never woken
    f1 = _gated(y, scores, woken, y, scores, woken)
    assert f1 == pytest.approx(2 * 2 / (2 * 2 + 0 + 1))  # tp 2, fp 0, fn 1: not "flag all"
