from __future__ import annotations

import numpy as np
import pytest

from edgewatch.errors import ConfigError
from edgewatch.operators.prefilter import PREFILTERS, Prefilter, make_detector
from edgewatch.operators.windowing import Window, WindowBatch
from edgewatch.records import SensorRecord


def _windows(values: list[float], asset: str = "a") -> WindowBatch:
    return WindowBatch.of(
        [
            Window(SensorRecord(asset, i, i, {"x": v}, "t"), np.array([[v]]))
            for i, v in enumerate(values)
        ]
    )


@pytest.mark.parametrize("kind", PREFILTERS)
def test_every_prefilter_scores_a_level_shift_higher(kind: str) -> None:
    rng = np.random.default_rng(0)
    prefilter = Prefilter(make_detector(kind, ["x"]), ["x"], learn="all")
    out = list(prefilter.process(_windows([*rng.normal(size=1_500).tolist(), 5.0])))
    assert out[-1].prefilter is not None
    assert out[-1].prefilter > float(np.quantile([w.prefilter or 0.0 for w in out[100:-1]], 0.9))


class FixedGate:
    def wakes(self, score: float) -> bool:
        return score >= 3.0  # a window scoring 3 or more is one the gate would wake


def _after_shift(learn: str, relearn_after: int = 10_000) -> float:
    """Mean prefilter score over the last 500 of 3,000 readings after a level shift of 8 sd."""
    rng = np.random.default_rng(0)
    prefilter = Prefilter(
        make_detector("ewzscore", ["x"]),
        ["x"],
        learn=learn,  # type: ignore[arg-type]
        relearn_after=relearn_after,
        gate=FixedGate(),
    )
    values = rng.normal(size=600).tolist() + (8 + rng.normal(size=3_000)).tolist()
    out = list(prefilter.process(_windows(values)))
    return float(np.mean([w.prefilter or 0.0 for w in out[-500:]]))


def test_learning_only_normal_windows_keeps_an_anomaly_visible() -> None:
    assert _after_shift("normal") > 3 * _after_shift("all")


def test_relearn_after_lets_a_lasting_level_shift_become_normal() -> None:
    assert _after_shift("normal", relearn_after=50) < _after_shift("normal") / 3


def test_state_is_per_asset_and_evictable() -> None:
    prefilter = Prefilter(make_detector("ewzscore", ["x"]), ["x"])
    prefilter.process(_windows([1.0], "a"))
    prefilter.process(_windows([1.0], "b"))
    prefilter.evict(["a"])
    prefilter.process(_windows([1.0], "c"))
    assert set(prefilter.detectors) == {"b", "c"}


def test_unknown_prefilter_is_named() -> None:
    with pytest.raises(ConfigError, match="prefilter"):
        make_detector("magic", ["x"])
