"""Prometheus metrics of a pipeline member, and the /metrics HTTP server.

Naming follows Prometheus conventions: prefix ``edgewatch_``, units in names, ``_total`` counters.
Label values come from bounded sets only (outcomes, DLQ reasons, stage names): never per record.
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from edgewatch.errors import ConfigError
from operators.evaluation import Confusion
from pipeline.stats import LatencyHistogram

__all__ = ["MetricsServer", "PipelineMetrics"]

log = logging.getLogger(__name__)
STAGES = ("decode", "detect", "produce", "commit")


class PipelineMetrics:
    """All metrics of one member, in their own registry (several members can share a process)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.records = Counter(
            "edgewatch_records_total", "Records consumed, by outcome.", ["outcome"], registry=r
        )
        self.dlq = Counter(
            "edgewatch_dlq_messages_total",
            "Messages sent to the DLQ, by reason.",
            ["reason"],
            registry=r,
        )
        self.detections = Counter(
            "edgewatch_detections_total", "Records decided anomalous.", registry=r
        )
        self.evaluation = Counter(
            "edgewatch_evaluation_records_total",
            "Labelled records by confusion outcome (tp, fp, tn, fn).",
            ["outcome"],
            registry=r,
        )
        self.assets = Gauge("edgewatch_assets_tracked", "Assets with detector state.", registry=r)
        self.lag = Gauge(
            "edgewatch_consumer_lag_messages", "Messages behind the partition ends.", registry=r
        )
        self.end_to_end = LatencyHistogram(
            "edgewatch_end_to_end_latency_seconds",
            "From the Kafka record timestamp to the acknowledged output of its batch.",
            registry=r,
        )
        self.stages = {
            stage: LatencyHistogram(
                f"edgewatch_stage_{stage}_duration_seconds",
                f"Time spent in the {stage} stage, per batch.",
                registry=r,
            )
            for stage in STAGES
        }
        self._confusion = Confusion()

    def record_confusion(self, total: Confusion) -> None:
        """Advance the evaluation counters to the running totals in ``total``."""
        seen = self._confusion
        for outcome in ("tp", "fp", "tn", "fn"):
            delta = getattr(total, outcome) - getattr(seen, outcome)
            if delta:
                self.evaluation.labels(outcome).inc(delta)
                setattr(seen, outcome, getattr(total, outcome))


class MetricsServer:
    """Serves a registry on http://host:port/metrics in a daemon thread; port 0 picks a free one."""

    def __init__(self, registry: CollectorRegistry, host: str = "127.0.0.1", port: int = 0):
        self.registry = registry
        self.host = host
        self.port = port
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def __enter__(self) -> MetricsServer:
        try:
            self._server, self._thread = start_http_server(
                self.port, addr=self.host, registry=self.registry
            )
        except OSError as exc:
            raise ConfigError(
                f"metrics port {self.port} on {self.host} is not available ({exc}); "
                "choose another with --metrics-port (0 picks a free one)"
            ) from exc
        self.port = int(self._server.server_port)
        log.info("metrics serving url=%s", self.url)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
