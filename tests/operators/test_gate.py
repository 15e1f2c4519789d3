from __future__ import annotations

import math

import numpy as np
import pytest

from edgewatch.errors import ConfigError
from edgewatch.operators.gate import Gate
from edgewatch.operators.windowing import Window, WindowBatch
from edgewatch.records import SensorRecord


def _windows(scores: list[float], asset: str = "a") -> WindowBatch:
    return WindowBatch.of(
        [
            Window(SensorRecord(asset, i, i, {"x": 0.0}, "t"), np.zeros((1, 1)), prefilter=s)
            for i, s in enumerate(scores)
        ]
    )


def test_disabled_gate_wakes_everything() -> None:
    out = list(Gate(None).process(_windows([0.0, 5.0, -1.0])))
    assert all(w.woken for w in out)


def test_wake_rate_tracks_the_target_after_calibration() -> None:
    rng = np.random.default_rng(0)
    gate = Gate(0.2, calibration=1_000)
    out = list(gate.process(_windows(rng.exponential(size=21_000).tolist())))
    after = out[1_000:]
    assert all(w.woken for w in out[:100])  # warming up: everything wakes
    assert sum(w.woken for w in out[100:1_000]) / 900 == pytest.approx(0.2, abs=0.05)
    assert sum(w.woken for w in after) / len(after) == pytest.approx(0.2, abs=0.02)
    woken = [w.prefilter for w in after if w.woken]
    skipped = [w.prefilter for w in after if not w.woken]
    assert min(woken) > np.quantile(skipped, 0.5)  # it wakes the high scores


def test_threshold_is_computed_before_the_score_is_added() -> None:
    gate = Gate(0.5, calibration=4)
    gate.process(_windows([1.0, 2.0, 3.0, 4.0]))
    before = gate.threshold
    (w,) = gate.process(_windows([before]))
    assert w.woken
    assert math.isinf(Gate(0.5).threshold)  # still calibrating


def test_audit_wakes_every_nth_skipped_window() -> None:
    rng = np.random.default_rng(1)
    gate = Gate(0.01, audit_every=10, calibration=100)
    out = list(gate.process(_windows(rng.uniform(size=2_000).tolist())))[100:]
    audits = sum(w.audit for w in out)
    not_woken_by_score = sum(not w.woken for w in out) + audits
    assert audits == not_woken_by_score // 10 > 100
    assert all(w.woken for w in out if w.audit)


def test_held_assets_stay_woken_for_hold_windows() -> None:
    gate = Gate(0.01, calibration=100, hold=3)
    gate.process(_windows([5.0] * 100))
    gate.hold_asset("a")
    out = list(gate.process(_windows([-1.0] * 5)))
    assert [w.woken for w in out] == [True, True, True, False, False]


@pytest.mark.parametrize(
    "kwargs", [{"wake_rate": 0.0}, {"wake_rate": 1.5}, {"wake_rate": 0.5, "audit_every": -1}]
)
def test_bad_parameters_are_named(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigError, match=r"wake_rate|audit_every"):
        Gate(**kwargs)  # type: ignore[arg-type]
