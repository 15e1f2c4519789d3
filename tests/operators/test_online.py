"""The online detector: calibrated alarm rate on normal streams of many shapes, detection of
injected faults, independence from units, and state that round-trips and refuses forgeries."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from edgewatch.errors import ConfigError, StateError
from edgewatch.operators.online import OnlineScorer, ScorerParams

N = 12_000


def _normal_streams(rng: np.random.Generator) -> dict[str, np.ndarray]:
    t = np.arange(N)
    e = rng.normal(size=N)
    ar = np.array(list(itertools.accumulate(e, lambda a, x: 0.9 * a + x)))
    return {
        "white noise": 10 + 2 * e,
        "random walk": np.cumsum(rng.normal(size=N)) + rng.normal(0, 0.5, N),
        "daily season": 50 + 20 * np.sin(2 * np.pi * t / 288) + rng.normal(0, 2, N),
        "ar1": ar,
        "heavy tails": rng.standard_t(3, N),
        "counts": rng.poisson(5, N).astype(float),
        "large units": 1e6 + 1e4 * rng.normal(size=N),
    }


def _decisions(values: np.ndarray, params: ScorerParams, channel: str = "value") -> list[bool]:
    scorer = OnlineScorer(params)
    out = []
    for v in values.tolist():
        x = {channel: v}
        rarity = scorer.score_one(x)
        out.append(scorer.ready and rarity >= scorer.threshold)
        scorer.learn_one(x)
    return out


@pytest.mark.parametrize("rate", [0.01, 0.002])
def test_alarm_rate_on_normal_data_is_within_2x_of_the_target(rate: float) -> None:
    params = ScorerParams(rate)
    warm = 2 * params.warmup + params.calibration
    shares = []
    for name, values in _normal_streams(np.random.default_rng(11)).items():
        share = float(np.mean(_decisions(values, params)[warm:]))
        assert share <= 2 * rate, f"{name}: {share:.4f} against {rate}"
        shares.append(share)
    assert rate / 2 <= np.mean(shares) <= 1.5 * rate


@pytest.mark.parametrize("kind", ["spike", "level shift", "variance burst"])
def test_injected_faults_alarm_near_their_onset(kind: str) -> None:
    rng = np.random.default_rng(12)
    values = 20 + rng.normal(size=N)
    at = 8_000
    if kind == "spike":
        values[at] += 12
    elif kind == "level shift":
        values[at:] += 6
    else:
        values[at : at + 100] = 20 + 5 * rng.normal(size=100)
    decided = _decisions(values, ScorerParams())
    assert any(decided[at : at + 20])


def test_decisions_do_not_depend_on_units() -> None:
    values = _normal_streams(np.random.default_rng(13))["random walk"]
    values[9_000] += 15
    params = ScorerParams()
    assert _decisions(values, params) == _decisions(values * 1_000 + 500, params)


def test_channels_combine_and_the_faulty_one_is_named() -> None:
    rng = np.random.default_rng(14)
    scorer = OnlineScorer(ScorerParams())
    for i in range(3_000):
        x = {"temp": 60 + rng.normal(), "rpm": 1_500 + 10 * rng.normal(), "amps": rng.normal()}
        if i == 2_500:
            x["rpm"] += 200
        rarity = scorer.score_one(x)
        if i == 2_500:
            assert rarity >= scorer.threshold
            assert scorer.top(1) == ("rpm",)
        scorer.learn_one(x)


def test_state_round_trips() -> None:
    rng = np.random.default_rng(15)
    a, b = OnlineScorer(ScorerParams()), OnlineScorer(ScorerParams())
    values = rng.normal(size=3_000).tolist()
    for v in values[:2_000]:
        a.score_one({"v": v})
        a.learn_one({"v": v})
    b.restore(a.state(), "online")
    for v in values[2_000:]:
        assert a.score_one({"v": v}) == b.score_one({"v": v})
        a.learn_one({"v": v})
        b.learn_one({"v": v})


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("n",), -1),
        (("channels", "v"), [1.0, -1.0, 3.0]),
        (("channels", "v"), [1.0, 2.0]),
        (("history",), [0.0, -1.0]),
        (("recent",), ["x"]),
        (("tail", "peaks"), [-1.0]),
    ],
)
def test_forged_state_is_refused(path: tuple[str, ...], value: object) -> None:
    scorer = OnlineScorer(ScorerParams())
    for v in np.random.default_rng(16).normal(size=1_000).tolist():
        scorer.learn_one({"v": v})
    saved = scorer.state()
    target = saved
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(StateError):
        OnlineScorer(ScorerParams()).restore(saved, "online")


def test_bad_parameters_name_the_field() -> None:
    with pytest.raises(ConfigError, match="level_rate"):
        ScorerParams(level_rate=1.5)
    with pytest.raises(ConfigError, match="rate"):
        ScorerParams(0.3)
