from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgewatch.errors import ConfigError
from edgewatch.operators.zscore import EWZScore


def test_scores_equal_a_pandas_recomputation() -> None:
    x = np.random.default_rng(1).normal(size=500).cumsum()
    alpha, warmup = 0.05, 10
    detector = EWZScore(alpha, warmup)
    got = []
    for value in x:
        got.append(detector.score_one({"c": value}))
        detector.learn_one({"c": value})
    mean = pd.Series(x).ewm(alpha=alpha, adjust=False).mean().to_numpy()
    square = pd.Series(x**2).ewm(alpha=alpha, adjust=False).mean().to_numpy()
    # score before learn: reading t is compared with the statistics of readings 0..t-1
    with np.errstate(divide="ignore"):  # variance 0 after one reading; inside the warm-up
        expected = np.abs(x[1:] - mean[:-1]) / np.sqrt(square[:-1] - mean[:-1] ** 2)
    expected[: warmup - 1] = 0.0
    np.testing.assert_allclose(got[1:], expected, rtol=1e-9)
    assert got[0] == 0.0


def test_score_is_the_worst_channel() -> None:
    detector = EWZScore(0.1, warmup=2)
    rng = np.random.default_rng(0)
    for _ in range(200):
        detector.learn_one({"a": rng.normal(), "b": rng.normal(10, 0.1)})
    calm = detector.score_one({"a": 0.0, "b": 10.0})
    assert detector.score_one({"a": 0.0, "b": 12.0}) > 10 * calm


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=60))
def test_scores_are_finite_and_non_negative(values: list[float]) -> None:
    detector = EWZScore(0.2, warmup=2)
    for value in values:
        score = detector.score_one({"c": value})
        assert np.isfinite(score)
        assert score >= 0.0
        detector.learn_one({"c": value})


@pytest.mark.parametrize(
    ("kwargs", "name"), [({"fading_factor": 0.0}, "fading_factor"), ({"warmup": 1}, "warmup")]
)
def test_bad_parameters(kwargs: dict[str, float], name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        EWZScore(**kwargs)  # type: ignore[arg-type]
