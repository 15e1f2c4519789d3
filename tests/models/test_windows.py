from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgewatch.models.windows import Segment, fd001_splits, fit_scaling, simulated_splits, window
from edgewatch.producers.simulated import FleetSpec, simulate_fleet

SMALL = FleetSpec(assets=2, points=4_000)


def test_windows_stay_inside_segments_and_take_the_last_label() -> None:
    a = Segment("a", np.arange(12.0).reshape(-1, 1), np.r_[np.zeros(11), 1].astype(int))
    b = Segment("b", 100 + np.arange(5.0).reshape(-1, 1), np.zeros(5, dtype=int))
    scaling = fit_scaling([a, b], "global")
    ws = window([a, b], scaling, seq_len=4)
    assert len(ws) == (12 - 4 + 1) + (5 - 4 + 1)  # no window joins the end of a to b
    raw = ws.x[:, :, 0] * scaling.std[0] + scaling.mean[0]
    assert np.allclose(raw[0], [0, 1, 2, 3], atol=1e-4)  # float32 windows
    assert np.allclose(raw[8], [8, 9, 10, 11], atol=1e-4)
    assert ws.y[8] == 1
    assert ws.y.sum() == 1
    assert np.allclose(raw[9], [100, 101, 102, 103], atol=1e-4)


def test_simulated_split_is_by_time_with_train_only_statistics() -> None:
    splits = simulated_splits(seq_len=10, spec=SMALL)
    fleet = simulate_fleet(SMALL)
    cut = round(0.7 * SMALL.points)
    for a, asset in enumerate(fleet.asset_ids):
        mean, std = splits.scaling.assets[asset]
        assert np.isclose(mean[0], fleet.values[a, :cut].mean())  # training segment only
        assert np.isclose(std[0], fleet.values[a, :cut].std())
    per_asset = lambda lo, hi: SMALL.assets * ((hi - lo) - 10 + 1)  # noqa: E731
    assert len(splits.train) == per_asset(0, cut)
    assert len(splits.val) == per_asset(cut, round(0.85 * SMALL.points))
    assert len(splits.test) == per_asset(round(0.85 * SMALL.points), SMALL.points)


def test_fd001_units_are_on_one_side_only(shared_data: Path) -> None:
    splits = fd001_splits(shared_data / "cmapss", seq_len=10, seed=42)
    val_units = set(splits.description["val_units"])  # type: ignore[call-overload]
    assert len(val_units) == 20
    assert splits.scaling.mode == "global"
    assert len(splits.channels) == 17
    # 80 train units and 20 validation units, every window inside one unit
    total_train_windows = 20_631 - 100 * 9
    assert len(splits.train) + len(splits.val) == total_train_windows
    assert len(splits.test) == 13_096 - 100 * 9
    assert 0 < splits.test.y.mean() < splits.train.y.mean()


def test_bad_seq_len() -> None:
    with pytest.raises(ValueError, match="seq_len"):
        simulated_splits(seq_len=1, spec=SMALL)


def test_pad_start_gives_every_reading_a_window() -> None:
    seg = Segment("a", np.arange(6.0).reshape(-1, 1), np.array([0, 0, 0, 0, 0, 1]))
    scaling = fit_scaling([seg], "global")
    ws = window([seg], scaling, seq_len=4, pad_start=True)
    assert len(ws) == 6
    raw = ws.x[:, :, 0] * scaling.std[0] + scaling.mean[0]
    assert np.allclose(raw[0], [0, 0, 0, 0], atol=1e-4)  # the first reading, repeated
    assert np.allclose(raw[2], [0, 0, 1, 2], atol=1e-4)
    assert ws.y.tolist() == [0, 0, 0, 0, 0, 1]
