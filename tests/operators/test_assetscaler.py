"""`AssetScaler`: each asset scaled by its own robust statistics, whatever its units."""

from __future__ import annotations

import numpy as np
import orjson
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgewatch.errors import StateError
from edgewatch.operators.assetscaler import AssetScaler
from edgewatch.operators.windowing import CountWindows, WindowBatch
from edgewatch.records import SensorRecord


def _windows(values: np.ndarray, asset: str = "x", seq_len: int = 4) -> WindowBatch:
    """The count windows of one asset's readings (rows of channels a, b)."""
    records = [
        SensorRecord(asset, i, i, {"a": float(row[0]), "b": float(row[1])}, "t")
        for i, row in enumerate(values)
    ]
    return CountWindows(["a", "b"], seq_len).process(records)


def _scaled(values: np.ndarray, learn: int = 50) -> np.ndarray:
    return AssetScaler(2, learn=learn).process(_windows(values)).values


def test_while_learning_it_uses_winsorized_mean_and_sd_of_the_readings_so_far() -> None:
    rng = np.random.default_rng(1)
    values = rng.normal(size=(30, 2)) * [3.0, 0.5] + [10.0, -2.0]
    values[10] = [1e6, -1e6]  # an outlier the winsorizing tames
    scaled = _scaled(values)
    for i, window in enumerate(scaled):  # window i ends at reading i + 3
        seen = pd.DataFrame(values[: i + 3])  # its earlier readings and all before them
        median = seen.median()
        reach = 5 * (seen - median).abs().median()
        kept = seen.clip(median - reach, median + reach, axis=1)
        center, scale = kept.mean().to_numpy(), kept.std(ddof=0).to_numpy()
        np.testing.assert_allclose(window, (values[i : i + 4] - center) / scale, rtol=1e-9)


@settings(max_examples=30, deadline=None)
@given(st.floats(1e-3, 1e4), st.floats(-1e6, 1e6))
def test_other_units_give_the_same_scaled_windows(factor: float, offset: float) -> None:
    rng = np.random.default_rng(2)
    values = rng.normal(size=(400, 2)) + np.sin(np.arange(400) / 7.0)[:, None]
    np.testing.assert_allclose(
        _scaled(values * factor + offset), _scaled(values), rtol=1e-6, atol=1e-6
    )


def test_a_lasting_fault_barely_moves_what_normal_looks_like() -> None:
    rng = np.random.default_rng(3)
    normal = rng.normal(size=(600, 2))
    fault = normal.copy()
    fault[400:500] += 50.0  # 100 readings far out
    scaler = AssetScaler(2, learn=200)
    scaler.process(_windows(fault))
    center, scale = scaler.stats["x"].center, scaler.stats["x"].scale
    # 100 readings 50 sd out move the mean by under 1 sd and leave the spread under 2.5x
    assert np.all(np.abs(center) < 1.0)
    assert np.all((scale > 0.7) & (scale < 2.5))


def test_a_constant_channel_scales_to_zero_not_to_nan() -> None:
    values = np.column_stack([np.full(50, 7.0), np.arange(50.0)])
    scaled = _scaled(values)
    assert np.all(np.isfinite(scaled))
    assert np.all(scaled[:, :, 0] == 0.0)


def test_state_round_trips_through_json_and_goes_on_identically() -> None:
    rng = np.random.default_rng(4)
    values = rng.normal(size=(300, 2)) * 5
    batch = _windows(values)
    whole = AssetScaler(2, learn=100).process(_windows(values)).values
    before, after = AssetScaler(2, learn=100), AssetScaler(2, learn=100)
    head = WindowBatch(batch.records[:150], batch.values[:150].copy())
    tail = WindowBatch(batch.records[150:], batch.values[150:].copy())
    got = before.process(head).values
    after.restore("x", orjson.loads(orjson.dumps(before.state_of("x"))))
    np.testing.assert_array_equal(np.concatenate([got, after.process(tail).values]), whole)


@pytest.mark.parametrize(
    "saved",
    [
        {"n": -1, "center": [0, 0], "scale": [1, 1], "buffer": []},
        {"n": 5, "center": [0], "scale": [1, 1], "buffer": []},
        {"n": 5, "center": [0, 0], "scale": [0, 1], "buffer": []},
        {"n": 5, "center": [0, 0], "scale": [1, 1], "buffer": [[1.0, 2.0]] * 500},
    ],
)
def test_a_forged_state_is_refused(saved: dict[str, object]) -> None:
    with pytest.raises(StateError):
        AssetScaler(2, learn=100).restore("x", saved)
