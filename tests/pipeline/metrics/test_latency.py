from __future__ import annotations

import numpy as np
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from edgewatch.pipeline.metrics.latency import LATENCY_BUCKETS, LatencyHistogram


def test_percentiles_match_numpy_within_bin_width() -> None:
    hist = LatencyHistogram("x_seconds", "x")
    samples = np.random.default_rng(3).lognormal(mean=-4, sigma=1.0, size=50_000)
    for chunk in np.array_split(samples, 37):
        hist.observe_many(chunk)
    for q in (50, 95, 99):
        assert hist.percentile(q) == pytest.approx(np.percentile(samples, q), rel=0.03)
    assert hist.count == samples.size
    assert np.isnan(LatencyHistogram("y_seconds", "y").percentile(50))


def test_exposition_is_a_cumulative_prometheus_histogram() -> None:
    registry = CollectorRegistry()
    hist = LatencyHistogram("edgewatch_test_latency_seconds", "test", registry=registry)
    samples = np.array([0.0005, 0.001, 0.003, 0.02, 0.02, 7.0, 100.0])
    hist.observe_many(samples)
    families = list(text_string_to_metric_families(generate_latest(registry).decode()))
    (family,) = families
    assert family.type == "histogram"
    buckets = {s.labels["le"]: s.value for s in family.samples if s.name.endswith("_bucket")}
    for bound in LATENCY_BUCKETS:
        assert buckets[repr(float(bound))] == (samples <= bound).sum()
    assert buckets["+Inf"] == samples.size
    total = next(s.value for s in family.samples if s.name.endswith("_sum"))
    assert total == pytest.approx(samples.sum())
