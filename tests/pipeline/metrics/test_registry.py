from __future__ import annotations

import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from edgewatch.errors import ConfigError
from edgewatch.pipeline.member import DLQ_REASONS
from edgewatch.pipeline.metrics.registry import MetricsServer, PipelineMetrics


@pytest.mark.integration
def test_served_over_http_with_conventional_names() -> None:
    metrics = PipelineMetrics()
    for reason in DLQ_REASONS:
        metrics.dlq.labels(reason)
    metrics.records.labels("valid").inc(3)
    with MetricsServer(metrics.registry) as server:
        body = urllib.request.urlopen(server.url, timeout=5).read().decode()
    families = {f.name: f for f in text_string_to_metric_families(body)}
    assert all(name.startswith("edgewatch_") for name in families)
    assert families["edgewatch_records"].type == "counter"
    assert families["edgewatch_end_to_end_latency_seconds"].type == "histogram"
    dlq = {s.labels["reason"] for s in families["edgewatch_dlq_messages"].samples}
    assert dlq == set(DLQ_REASONS)


@pytest.mark.integration
def test_busy_port_is_a_clear_error() -> None:
    metrics = PipelineMetrics()
    with (
        MetricsServer(metrics.registry) as first,
        pytest.raises(ConfigError, match="--metrics-port"),
        MetricsServer(metrics.registry, port=first.port),
    ):
        pass
