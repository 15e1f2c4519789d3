"""Contract tests run over every detector and operator the package exports."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgewatch.operators import Chain, Detector, EWZScore, PerAsset, Threshold
from edgewatch.operators.baseline import WindowedGaussian
from edgewatch.operators.prefilter import GaussianChannels, HalfSpaceTreesDetector
from edgewatch.records import SensorRecord

DETECTORS: dict[str, Callable[[], Detector]] = {
    "ewzscore": lambda: EWZScore(0.1, warmup=3),
    "hst": lambda: HalfSpaceTreesDetector(["a", "b"], clip=1_000.0, seed=1),
    "gaussian": lambda: GaussianChannels(["a", "b"], grace_period=3),
    "windowed-gaussian": lambda: WindowedGaussian(window=50, step=7, warmup=3),
}

readings = st.lists(
    st.fixed_dictionaries({"a": st.floats(-100, 100), "b": st.floats(-100, 100)}),
    min_size=1,
    max_size=40,
)


@pytest.mark.parametrize("make", DETECTORS.values(), ids=DETECTORS.keys())
@settings(max_examples=50)
@given(xs=readings)
def test_scoring_does_not_learn(make: Callable[[], Detector], xs: list[dict[str, float]]) -> None:
    detector = make()
    for x in xs:
        first = detector.score_one(x)
        assert detector.score_one(x) == first  # score_one has no side effect
        detector.learn_one(x)


@pytest.mark.parametrize("make", DETECTORS.values(), ids=DETECTORS.keys())
def test_higher_score_means_more_anomalous(make: Callable[[], Detector]) -> None:
    detector = make()
    for i in range(300):
        detector.learn_one({"a": float(i % 7), "b": 1.0 + (i % 3)})
    assert detector.score_one({"a": 1_000.0, "b": 2.0}) > detector.score_one({"a": 3.0, "b": 2.0})


def _record(asset: str, seq: int, value: float) -> SensorRecord:
    return SensorRecord(asset=asset, ts=seq, seq=seq, values={"a": value, "b": -value}, source="t")


@settings(max_examples=50)
@given(st.lists(st.tuples(st.sampled_from("xyz"), st.floats(-100, 100)), max_size=60))
def test_per_asset_state_is_independent(items: list[tuple[str, float]]) -> None:
    """Interleaving assets in one stream scores each exactly as if it were alone."""
    batch = [_record(asset, i, v) for i, (asset, v) in enumerate(items)]
    together = PerAsset(DETECTORS["ewzscore"]).process(batch)
    for asset in "xyz":
        alone = PerAsset(DETECTORS["ewzscore"]).process([r for r in batch if r.asset == asset])
        assert [s.score for s in together if s.record.asset == asset] == [s.score for s in alone]
    assert [s.record for s in together] == batch


def test_per_asset_cap_is_enforced() -> None:
    scorer = PerAsset(DETECTORS["ewzscore"], max_assets=2)
    scorer.process([_record("x", 0, 1.0), _record("y", 0, 1.0)])
    with pytest.raises(ValueError, match="max_assets"):
        scorer.process([_record("z", 0, 1.0)])


def test_chain_applies_threshold_after_scoring() -> None:
    chain = Chain(PerAsset(DETECTORS["ewzscore"]), Threshold(2.0))
    batch = [_record("x", i, float(i % 2)) for i in range(50)] + [_record("x", 50, 40.0)]
    out = chain.process(batch)
    assert len(out) == len(batch)
    assert [s.decision for s in out] == [s.score >= 2.0 for s in out]
    assert out[-1].decision
