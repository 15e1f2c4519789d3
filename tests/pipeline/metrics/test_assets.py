from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from edgewatch.operators.base import Scored
from edgewatch.pipeline.metrics.assets import OTHER, AssetMetrics, BoundedLabel
from edgewatch.records import SensorRecord


def scored(asset: str, score: float, decision: bool, source: str = "sim") -> Scored:
    record = SensorRecord(asset=asset, ts=1, seq=0, values={"a": 1.0}, source=source)
    return Scored(record, score, decision)


def value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


@given(st.lists(st.text(alphabet="abcdef", min_size=1, max_size=3)), st.integers(0, 5))
def test_bounded_label_keeps_the_first_cap_values(values: list[str], cap: int) -> None:
    label = BoundedLabel(cap)
    out = [label(v) for v in values]
    first = list(dict.fromkeys(values))[:cap]
    assert out == [v if v in first else OTHER for v in values]
    assert len(set(out) - {OTHER}) <= cap


def test_counts_scores_and_caps_assets() -> None:
    registry = CollectorRegistry()
    metrics = AssetMetrics(registry, asset_cap=2)
    batch = [scored("a", 0.1, False), scored("b", 0.9, True), scored("c", 0.8, True)]
    metrics.update([*batch, scored("a", 0.2, True)], open_assets=set())
    assert value(registry, "edgewatch_asset_windows_total", source="sim", asset="a") == 2
    assert value(registry, "edgewatch_asset_detections_total", source="sim", asset="a") == 1
    assert value(registry, "edgewatch_asset_score", source="sim", asset="a") == 0.2
    assert value(registry, "edgewatch_asset_windows_total", source="sim", asset=OTHER) == 1
    assert value(registry, "edgewatch_asset_windows_total", source="sim", asset="c") is None


def test_open_incident_flag_is_reset_when_the_incident_closes() -> None:
    registry = CollectorRegistry()
    metrics = AssetMetrics(registry)
    metrics.update([scored("a", 0.9, True)], open_assets={("sim", "a")})
    assert value(registry, "edgewatch_asset_incident_open", source="sim", asset="a") == 1
    metrics.update([], open_assets=set())  # closed on a batch without records of "a"
    assert value(registry, "edgewatch_asset_incident_open", source="sim", asset="a") == 0
