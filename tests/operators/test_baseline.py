"""The windowed-Gaussian baseline against a numpy recomputation, and its stream detector."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgewatch.errors import ConfigError
from edgewatch.operators.baseline import BASELINE, BaselineDetector, WindowedGaussian
from edgewatch.operators.spot import MAX_RARITY
from edgewatch.records import SensorRecord


def _oracle(xs: list[float], window: int, step: int) -> list[float]:
    """Each reading's rarity under the Gaussian of the window as last refreshed before it."""
    out, fit = [], None
    for i, x in enumerate(xs):
        if fit is None:
            out.append(0.0)
        else:
            mean, sd = fit
            if sd > 0:
                p = math.erfc(abs(x - mean) / sd / math.sqrt(2.0))
                out.append(-math.log10(max(p, 10.0**-MAX_RARITY)))
            else:
                out.append(0.0 if x == mean else MAX_RARITY)
        n = i + 1
        if n >= 2 and (n <= step or n % step == 0):
            held = np.array(xs[max(0, n - window) : n])
            fit = (held.mean(), held.std())
    return out


@settings(max_examples=60)
@given(
    xs=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=120),
    window=st.integers(2, 40),
    step=st.integers(1, 10),
)
def test_scores_match_a_numpy_recomputation(xs: list[float], window: int, step: int) -> None:
    step = min(step, window)
    scorer = WindowedGaussian(window, step, warmup=2)
    got = []
    for x in xs:
        got.append(scorer.score_one({"v": x}))
        scorer.learn_one({"v": x})
    assert got == pytest.approx(_oracle(xs, window, step), rel=1e-9, abs=1e-9)


def test_the_worst_channel_scores_and_unseen_channels_do_not() -> None:
    scorer = WindowedGaussian(window=100, step=10, warmup=2)
    rng = np.random.default_rng(0)
    for a, b in rng.normal(size=(200, 2)).tolist():
        scorer.learn_one({"a": a, "b": 1_000.0 + b})
    only_b = scorer.score_one({"a": 0.0, "b": 1_008.0})
    assert only_b == scorer.score_one({"b": 1_008.0}) > 10.0
    assert scorer.score_one({"new": 1e9}) == 0.0


def test_the_detector_decides_at_the_alarm_rate_and_names_itself() -> None:
    detector = BaselineDetector(rate=0.01, window=500, step=50)
    rng = np.random.default_rng(1)
    values = rng.normal(size=20_000).tolist()
    records = [
        SensorRecord(asset="a", ts=i, seq=i, values={"v": v}, source="t")
        for i, v in enumerate(values)
    ]
    scored = detector.process(records)
    assert detector.warming == 50
    assert len(scored) == 20_000 - 50
    assert {s.model.name for s in scored if s.model is not None} == {BASELINE}
    rate = sum(s.decision for s in scored) / len(scored)
    assert 0.005 <= rate <= 0.02  # Gaussian data: near the target


@pytest.mark.parametrize("kwargs", [{"window": 1}, {"step": 0}, {"warmup": 1}])
def test_bad_parameters_are_named(kwargs: dict[str, int]) -> None:
    with pytest.raises(ConfigError, match="window/step/warmup"):
        WindowedGaussian(**kwargs)
