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


def test_a_target_follows_its_windows_with_and_without_padding() -> None:
    target = np.linspace(0.0, 1.0, 6)
    seg = Segment("a", np.arange(6.0).reshape(-1, 1), np.array([0, 0, 0, 0, 1, 1]), target)
    scaling = fit_scaling([seg], "global")
    padded = window([seg], scaling, seq_len=4, pad_start=True)
    np.testing.assert_allclose(padded.target, target, rtol=1e-6)
    plain = window([seg], scaling, seq_len=4)
    np.testing.assert_allclose(plain.target, target[3:], rtol=1e-6)
    assert plain.y.tolist() == [0, 1, 1]
    assert window([Segment("b", seg.values, seg.labels)], scaling, 4).target.size == 0


def test_fd001_health_target_and_channel_choice(shared_data: Path) -> None:
    from edgewatch.producers.cmapss import SENSORS, load_fd001

    splits = fd001_splits(
        shared_data / "cmapss", seq_len=50, pad_start=True, channels=SENSORS, target="health"
    )
    assert splits.channels == SENSORS
    assert splits.train.x.shape[1:] == (50, 14)
    assert len(splits.test) == 13_096  # every test cycle ends a window, short units too
    rul = load_fd001(shared_data / "cmapss", "test")["rul"].to_numpy()
    np.testing.assert_allclose(splits.test.target, 1 - np.minimum(rul, 125) / 125, rtol=1e-6)
    assert ((splits.test.target >= 1 - 30 / 125) == (splits.test.y == 1)).all()


def test_fd001_refuses_unknown_channels_and_targets(shared_data: Path) -> None:
    with pytest.raises(ValueError, match="channels"):
        fd001_splits(shared_data / "cmapss", channels=["s1", "bogus"])
    with pytest.raises(ValueError, match="target"):
        fd001_splits(shared_data / "cmapss", target="rul")  # type: ignore[arg-type]
