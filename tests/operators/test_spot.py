from __future__ import annotations

import math

import numpy as np
import pytest

from edgewatch.errors import ConfigError, StateError
from edgewatch.operators.spot import MAX_RARITY, TailThreshold


def _fed(values: np.ndarray, rate: float = 0.01) -> TailThreshold:
    tail = TailThreshold(rate)
    for z in values.tolist():
        tail.learn_one(z)
    return tail


@pytest.mark.parametrize(
    "draw",
    [
        lambda rng, n: rng.normal(size=n),
        lambda rng, n: rng.exponential(size=n),
        lambda rng, n: rng.standard_t(3, size=n),
        lambda rng, n: rng.uniform(size=n),
    ],
    ids=["normal", "exponential", "student-t3", "uniform"],
)
@pytest.mark.parametrize("rate", [0.01, 0.002])
def test_alarm_rate_on_fresh_scores_is_near_the_target(draw, rate: float) -> None:
    rng = np.random.default_rng(1)
    tail = _fed(draw(rng, 20_000), rate)
    fresh = draw(rng, 100_000)
    share = float(np.mean([tail.rarity(z) >= tail.alarm_rarity for z in fresh.tolist()]))
    assert rate / 2 <= share <= rate * 2


def test_rarity_is_monotone_and_capped() -> None:
    tail = _fed(np.random.default_rng(2).normal(size=5_000))
    zs = np.linspace(-5, 50, 500).tolist()
    rarities = [tail.rarity(z) for z in zs]
    assert rarities == sorted(rarities)
    assert rarities[-1] <= MAX_RARITY
    assert tail.score_at(tail.alarm_rarity) == pytest.approx(
        next(z for z in np.linspace(0, 10, 100_001).tolist() if tail.rarity(z) >= 2.0), abs=1e-3
    )


def test_not_ready_scores_zero_and_constant_stream_alarms_on_change() -> None:
    tail = TailThreshold(0.01, init=400)
    assert tail.rarity(1e9) == 0.0
    for _ in range(400):
        tail.learn_one(1.0)
    assert tail.ready
    assert tail.rarity(1.0) < tail.alarm_rarity
    assert tail.rarity(1.5) >= tail.alarm_rarity


def test_one_fault_does_not_teach_the_tail() -> None:
    rng = np.random.default_rng(3)
    tail = _fed(rng.normal(size=5_000))
    before = tail.score_at(tail.alarm_rarity)
    for _ in range(20):
        tail.learn_one(1e6)
    assert tail.score_at(tail.alarm_rarity) < before * 1.5


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ConfigError, match="rate/tail"):
        TailThreshold(0.2)
    with pytest.raises(ConfigError, match="init"):
        TailThreshold(0.01, init=10)


def test_state_round_trips_before_and_after_ready() -> None:
    rng = np.random.default_rng(4)
    for n in (100, 3_000):
        tail = _fed(rng.normal(size=n))
        copy = TailThreshold(0.01)
        copy.restore(tail.state(), "tail")
        probes = np.linspace(-3, 8, 50).tolist()
        assert [copy.rarity(z) for z in probes] == [tail.rarity(z) for z in probes]


@pytest.mark.parametrize(
    ("field", "value"),
    [("n", -1), ("n", "7"), ("n_peaks", 2**70), ("t", None), ("peaks", [math.inf]),
     ("peaks", [-1.0]), ("first", "x")],
)  # fmt: skip
def test_forged_state_is_refused_with_the_field_named(field: str, value: object) -> None:
    saved = _fed(np.random.default_rng(5).normal(size=1_000)).state()
    saved[field] = value
    with pytest.raises(StateError, match=f"tail.{field}"):
        TailThreshold(0.01).restore(saved, "tail")
