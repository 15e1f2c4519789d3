"""Prometheus metrics of a pipeline member, and the /metrics HTTP server.

Naming follows Prometheus conventions: prefix ``edgewatch_``, units in names, ``_total`` counters.
Label values come from bounded sets only (outcomes, DLQ reasons, stage names): never per record.
"""

from __future__ import annotations

import logging
from collections import Counter as Tally
from collections.abc import Iterable, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from edgewatch.errors import ConfigError
from edgewatch.incidents import EVENT_KINDS, Incident, IncidentEvent
from edgewatch.operators.base import Scored
from edgewatch.operators.evaluation import Confusion
from edgewatch.pipeline.metrics.assets import OTHER, AssetMetrics
from edgewatch.pipeline.metrics.latency import LatencyHistogram
from edgewatch.pipeline.serving import ServedInThread

__all__ = ["MetricsServer", "PipelineMetrics", "ReplayMetrics"]

log = logging.getLogger(__name__)
STAGES = ("decode", "detect", "produce", "commit")
#: Detection delays of labelled anomaly segments span seconds (spikes) to days (degradation).
DELAY_BUCKETS = (1, 5, 15, 60, 300, 900, 3_600, 4 * 3_600, 24 * 3_600, 7 * 24 * 3_600)


class PipelineMetrics:
    """All metrics of one member, in their own registry (several members can share a process)."""

    def __init__(self, registry: CollectorRegistry | None = None, asset_cap: int = 100) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.per_asset = AssetMetrics(r, asset_cap)
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
            "edgewatch_detections_total",
            "Windows decided anomalous, by source (capped).",
            ["source"],
            registry=r,
        )
        self.evaluation = Counter(
            "edgewatch_evaluation_records_total",
            "Labelled records by confusion outcome (tp, fp, tn, fn).",
            ["outcome"],
            registry=r,
        )
        self.events = Counter(
            "edgewatch_evaluation_events_total",
            "Labelled anomaly segments that ended, by outcome (detected, missed).",
            ["outcome"],
            registry=r,
        )
        self.delay = Histogram(
            "edgewatch_detection_delay_seconds",
            "Event time from the start of a labelled anomaly segment to its first detection.",
            buckets=DELAY_BUCKETS,
            registry=r,
        )
        self.windows = Counter(
            "edgewatch_windows_total",
            "Windows by gate outcome (woken: the model scored it; skipped: decided normal).",
            ["gate"],
            registry=r,
        )
        self.audits = Counter(
            "edgewatch_gate_audits_total",
            "Audit windows (woken although the gate would have skipped them), by model decision.",
            ["decision"],
            registry=r,
        )
        self.model_calls = Counter(
            "edgewatch_model_invocations_total", "Model calls (micro-batches).", registry=r
        )
        self.model_seconds = Counter(
            "edgewatch_model_seconds_total", "Wall time spent inside the model.", registry=r
        )
        self.model_windows = Counter(
            "edgewatch_model_windows_total", "Windows the model scored.", registry=r
        )
        self.warmup = Counter(
            "edgewatch_warmup_records_total",
            "Valid records that completed no window (asset warm-up, state rebuilt after a "
            "rebalance, or between strides).",
            registry=r,
        )
        self.unfit = Counter(
            "edgewatch_unfit_records_total",
            "Valid records of assets that lack a channel of the model (they get no window).",
            registry=r,
        )
        self.snapshots = Counter(
            "edgewatch_state_snapshots_total",
            "Per-asset state snapshots sent to the changelog topic.",
            registry=r,
        )
        self.restored = Counter(
            "edgewatch_state_restored_assets_total",
            "Assets whose state a rebalance brought here restored from the changelog topic "
            "(the others warm up).",
            registry=r,
        )
        self.snapshots_skipped = Counter(
            "edgewatch_state_snapshots_skipped_total",
            "Changelog snapshots not restored: invalid (unreadable, forged, not fitting this "
            "member's detectors), foreign (another model version) or ahead (past the commit).",
            ["reason"],
            registry=r,
        )
        self.gaps = Counter(
            "edgewatch_sequence_gaps_total",
            "Records missing upstream: jumps in an asset's seq.",
            registry=r,
        )
        self.restarts = Counter(
            "edgewatch_sequence_restarts_total",
            "Assets whose seq restarted (a new epoch after consistent records below the last).",
            registry=r,
        )
        self.incidents = Counter(
            "edgewatch_incident_events_total", "Incident events, by kind.", ["event"], registry=r
        )
        self.incidents_open = Gauge(
            "edgewatch_incidents_open",
            "Incidents open, by source (capped).",
            ["source"],
            registry=r,
        )
        self.oldest_incident = Gauge(
            "edgewatch_incident_oldest_open_seconds",
            "Event time the oldest open incident has been open (0 when none).",
            registry=r,
        )
        self.webhooks = Counter(
            "edgewatch_webhook_deliveries_total",
            "Webhook delivery attempts, by outcome (delivered, failed: retried later).",
            ["outcome"],
            registry=r,
        )
        self.outbox = Gauge(
            "edgewatch_webhook_outbox_pending", "Alerts stored, not yet delivered.", registry=r
        )
        self.assets = Gauge("edgewatch_assets_tracked", "Assets with detector state.", registry=r)
        self.lag = Gauge(
            "edgewatch_consumer_lag_messages", "Messages behind the partition ends.", registry=r
        )
        self.member_restarts = Gauge(
            "edgewatch_member_restarts",
            "Times the supervisor (run --members) restarted this member's slot after it died.",
            registry=r,
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
        for outcome in ("tp", "fp", "tn", "fn"):
            self.evaluation.labels(outcome)
        for outcome in ("detected", "missed"):
            self.events.labels(outcome)
        for gate in ("woken", "skipped"):
            self.windows.labels(gate)
        for decision in ("anomalous", "normal"):
            self.audits.labels(decision)
        for kind in EVENT_KINDS:
            self.incidents.labels(kind)
        for outcome in ("delivered", "failed"):
            self.webhooks.labels(outcome)

    def record_windows(
        self, scored: list[Scored], woken: int, delays: Iterable[int | None]
    ) -> None:
        """Count a batch's windows by gate outcome and audit decision, and the labelled anomaly
        segments that ended in it (``delays``: event ms to detection, None = missed)."""
        self.windows.labels("woken").inc(woken)
        self.windows.labels("skipped").inc(len(scored) - woken)
        for s in scored:
            if s.audit:
                self.audits.labels("anomalous" if s.decision else "normal").inc()
        for delay in delays:
            self.events.labels("missed" if delay is None else "detected").inc()
            if delay is not None:
                self.delay.observe(delay / 1000.0)

    def record_incidents(
        self,
        scored: list[Scored],
        events: Sequence[IncidentEvent],
        open_now: Sequence[tuple[Incident, int]],
    ) -> None:
        """Count a batch's incident events and detections (by source), and set the gauges of
        the incidents open now (each with its asset's newest event time)."""
        for event in events:
            self.incidents.labels(event.kind).inc()
        sources = self.per_asset.source
        by_source = Tally(sources(incident.source) for incident, _ in open_now)
        for source in sources.known | ({OTHER} & set(by_source)):
            self.incidents_open.labels(source).set(by_source.get(source, 0))
        oldest = max((last - i.opened_ts for i, last in open_now), default=0)
        self.oldest_incident.set(oldest / 1000.0)
        flagged = self.per_asset.update(scored, {(i.source, i.asset) for i, _ in open_now})
        for source, count in flagged.items():
            self.detections.labels(source).inc(count)

    def record_confusion(self, total: Confusion) -> None:
        """Advance the evaluation counters to the running totals in ``total``."""
        seen = self._confusion
        for outcome in ("tp", "fp", "tn", "fn"):
            delta = getattr(total, outcome) - getattr(seen, outcome)
            if delta:
                self.evaluation.labels(outcome).inc(delta)
                setattr(seen, outcome, getattr(total, outcome))


class ReplayMetrics:
    """What `edgewatch replay --metrics-port` serves: how much it has sent, and whether it runs."""

    def __init__(self, dataset: str, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.sent = Counter(
            "edgewatch_replay_records_sent_total",
            "Records sent (and flushed every 1,000), by data set.",
            ["dataset"],
            registry=self.registry,
        ).labels(dataset)
        self.running = Gauge(
            "edgewatch_replay_running",
            "1 while the replay sends, 0 once it has finished.",
            ["dataset"],
            registry=self.registry,
        ).labels(dataset)
        self._seen = 0

    def progress(self, sent: int) -> None:
        """Advance the counter to ``sent`` records in total."""
        self.sent.inc(sent - self._seen)
        self._seen = sent


class MetricsServer(ServedInThread):
    """Serves a registry on http://host:port/metrics in a daemon thread; port 0 picks a free one."""

    def __init__(self, registry: CollectorRegistry, host: str = "127.0.0.1", port: int = 0):
        self.registry = registry
        self.host = host
        self.port = port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def __enter__(self) -> MetricsServer:
        try:
            server, self._thread = start_http_server(
                self.port, addr=self.host, registry=self.registry
            )
        except OSError as exc:
            raise ConfigError(
                f"metrics port {self.port} on {self.host} is not available ({exc}); "
                "choose another with --metrics-port (0 picks a free one)"
            ) from exc
        self._server = server
        self.port = int(server.server_port)
        log.info("metrics serving url=%s", self.url)
        return self
