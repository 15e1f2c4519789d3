"""Wiring: the cascade from the settings and a model artifact, and a Kafka-backed `Member` with
its alert webhooks (outbox + dispatcher) when URLs are configured."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import BinaryIO

from edgewatch.errors import ConfigError
from edgewatch.incidents import IncidentEvent
from edgewatch.models.artifacts import OnnxModel, load_model, shipped_card, shipped_sentinel
from edgewatch.operators import Cascade, IncidentTracker
from edgewatch.operators.anystream import ONLINE, OnlineDetector
from edgewatch.operators.base import ModelInfo
from edgewatch.operators.online import ScorerParams
from edgewatch.operators.router import Route, Router, takes_all, takes_source
from edgewatch.pipeline.alerts.outbox import Outbox
from edgewatch.pipeline.alerts.webhooks import Dispatcher, payload
from edgewatch.pipeline.kafka.confluent import ConfluentSink, ConfluentSource
from edgewatch.pipeline.kafka.kafka_python import KafkaSink, KafkaSource, ensure_topics, read_topic
from edgewatch.pipeline.member import Member, Topics
from edgewatch.pipeline.metrics.registry import PipelineMetrics
from edgewatch.pipeline.outputs import JsonLinesSink, TeeSink
from edgewatch.pipeline.settings import (
    DetectorSettings,
    IncidentSettings,
    KafkaSettings,
    Settings,
    WebhookSettings,
)
from edgewatch.pipeline.state import Changelog
from edgewatch.transport import MessageSink, MessageSource

__all__ = [
    "build_cascade",
    "build_detector",
    "build_tracker",
    "ensure_member_topics",
    "gate_of",
    "load_detector_model",
    "load_sentinel",
    "make_sink",
    "make_source",
    "open_member",
    "steady_gc",
    "wants_online",
]


#: The changelog keeps the newest snapshot per asset; small segments let compaction reach it soon.
CHANGELOG_CONFIG = {"cleanup.policy": "compact", "segment.ms": "600000"}


def ensure_member_topics(bootstrap_servers: str, k: KafkaSettings) -> int:
    """Create the member's topics where missing (the DLQ needs no parallelism); return the input's
    partition count. The changelog, if any, must have the input's partitions: snapshots go to
    their input partition's number."""
    counts = ensure_topics(
        bootstrap_servers,
        {
            k.input_topic: k.partitions,
            k.detections_topic: k.partitions,
            k.incidents_topic: k.partitions,
            k.dlq_topic: 1,
        },
    )
    want = counts[k.input_topic]
    if k.changelog_topic is None:
        return want
    have = ensure_topics(
        bootstrap_servers, {k.changelog_topic: want}, {k.changelog_topic: CHANGELOG_CONFIG}
    )[k.changelog_topic]
    if have != want:
        raise ConfigError(
            f"changelog topic {k.changelog_topic!r} has {have} partitions but input topic "
            f"{k.input_topic!r} has {want}; delete it to have it recreated, or name another "
            "with --changelog-topic"
        )
    return want


def _changelog(k: KafkaSettings, bootstrap_servers: str, model: str) -> Changelog | None:
    topic = k.changelog_topic
    if topic is None:
        return None
    return Changelog(topic, model, lambda parts: read_topic(bootstrap_servers, topic, 120.0, parts))


#: The shipped models, by the data set (and record source) each was trained on.
SHIPPED = ("simulated", "fd001")


def load_detector_model(cfg: DetectorSettings) -> OnnxModel:
    """The card at ``cfg.model``, or a shipped model by data set name ("simulated", "fd001"),
    else the shipped simulated one; sha256-checked."""
    if cfg.model is None:
        return load_model(shipped_card("simulated"))
    if not cfg.model.suffix and shipped_card(cfg.model.name).is_file():
        return load_model(shipped_card(cfg.model.name))
    return load_model(cfg.model)


def wants_online(cfg: DetectorSettings) -> bool:
    """``--model online``: the unsupervised detector for every asset, no model."""
    return cfg.model is not None and str(cfg.model) == ONLINE


def build_detector(cfg: DetectorSettings) -> Router:
    """What a member runs. ``model`` unset: each shipped model for the streams of its own data
    set (by record source), the online detector for every other stream; ``model`` a card or a
    shipped name: that model for every asset that fits it; ``online``: no model. Assets a model
    does not fit go to the online detector."""
    online = OnlineDetector(ScorerParams(cfg.alarm_rate), cfg.top_channels)
    if wants_online(cfg):
        return Router([], online)
    if cfg.model is None:
        pairs = [(load_model(shipped_card(name)), takes_source(name)) for name in SHIPPED]
    else:
        pairs = [(load_detector_model(cfg), takes_all)]
    routes = []
    for model, takes in pairs:
        cascade = build_cascade(cfg, model)
        info = ModelInfo(
            str(model.card["name"]), str(model.card["sha256"])[:12], cascade.threshold_value
        )
        routes.append(Route(info, cascade, takes))
    return Router(routes, online)


def make_source(
    k: KafkaSettings, bootstrap_servers: str, group_id: str, client_id: str
) -> MessageSource:
    """A consumer-group member of ``group_id`` on ``k.input_topic``, with ``k.client``."""
    timing = {
        "fetch_max_wait_ms": k.fetch_max_wait_ms,
        "max_poll_interval_ms": k.max_poll_interval_ms,
        "session_timeout_ms": k.session_timeout_ms,
    }
    if k.client == "confluent":
        return ConfluentSource(bootstrap_servers, [k.input_topic], group_id, client_id, **timing)
    return KafkaSource(
        bootstrap_servers,
        [k.input_topic],
        group_id,
        client_id,
        max_poll_records=k.max_poll_records,
        **timing,
    )


def make_sink(k: KafkaSettings, bootstrap_servers: str, client_id: str) -> MessageSink:
    if k.client == "confluent":
        return ConfluentSink(bootstrap_servers, client_id)
    return KafkaSink(bootstrap_servers, client_id)


#: Collector thresholds while a member runs (CPython's defaults: 700, 10, 10). Each batch allocates
#: thousands of short-lived objects: at the defaults the young generation was collected several
#: times per batch and full collections paused batches by up to 66 ms (simulated fleet, 50% load).
#: With these and the start-up objects frozen: +5% records/s, a quarter of the collector's time.
MEMBER_GC_THRESHOLDS = (20_000, 20, 10)
_gc_lock = threading.Lock()
_gc_users = 0  # members running in this process
_gc_before = gc.get_threshold()  # the thresholds to restore when the last one stops


@contextmanager
def steady_gc() -> Iterator[None]:
    """While members run in this process: objects alive now (modules, models, clients) are frozen
    out of the collector's walks, and collections are rarer. The last member out restores both."""
    global _gc_users, _gc_before
    with _gc_lock:
        if _gc_users == 0:
            _gc_before = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(*MEMBER_GC_THRESHOLDS)
        _gc_users += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users -= 1
            if _gc_users == 0:
                gc.unfreeze()
                gc.set_threshold(*_gc_before)


def gate_of(cfg: DetectorSettings, card: dict[str, object] | None = None) -> str:
    """The gate in force: ``detector.gate``; unset, the prefilter when a wake rate is set, else
    the sentinel when the model has one (``detector.sentinel``, or a shipped model's), else
    off."""
    if cfg.gate is not None:
        return cfg.gate
    if cfg.wake_rate is not None:
        return "prefilter"
    shipped = None if card is None else shipped_sentinel(dict(card))
    has_sentinel = cfg.sentinel is not None or (shipped is not None and shipped.is_file())
    return "sentinel" if has_sentinel else "off"


def load_sentinel(cfg: DetectorSettings, model: OnnxModel) -> OnnxModel:
    """``detector.sentinel``, else the shipped model's own; it must window and scale as the
    model does (trained on the same data: `edgewatch train --model sentinel_lstm`)."""
    path = cfg.sentinel or shipped_sentinel(model.card)
    if path is None:
        raise ConfigError(
            f"detector.gate is 'sentinel' but model {model.card['name']!r} has no shipped "
            "sentinel: train one on the same data (edgewatch train ... --model sentinel_lstm) "
            "and pass its card as detector.sentinel (--sentinel)"
        )
    sentinel = load_model(path)
    for key in ("channels", "seq_len", "scaling"):
        if sentinel.card[key] != model.card[key]:
            raise ConfigError(
                f"sentinel {sentinel.card['name']!r} does not fit model "
                f"{model.card['name']!r}: their {key} differ; train both on the same data"
            )
    return sentinel


def build_cascade(cfg: DetectorSettings, model: OnnxModel) -> Cascade:
    gate = gate_of(cfg, model.card)
    if gate == "prefilter" and cfg.wake_rate is None:
        raise ConfigError.invalid(
            "detector.wake_rate", "must be set for the prefilter gate (e.g. 0.3)", None
        )
    sentinel = load_sentinel(cfg, model) if gate == "sentinel" else None
    return Cascade.from_card(
        model.card,
        model.score,
        prefilter=cfg.prefilter,
        learn=cfg.learn,
        relearn_after=cfg.relearn_after,
        wake_rate=cfg.wake_rate if gate == "prefilter" else None,
        sentinel=None if sentinel is None else sentinel.score,
        confidence=cfg.confidence,
        audit_every=cfg.audit_every,
        calibration=cfg.calibration,
        hold=cfg.hold,
        stride=cfg.stride,
        batch_size=cfg.batch_size,
        threshold=cfg.threshold,
        top_channels=cfg.top_channels,
        scaling=cfg.scaling,
    )


def build_tracker(cfg: IncidentSettings) -> IncidentTracker:
    return IncidentTracker(cfg.k, cfg.m, cfg.quiet_ms, cfg.update_ms)


def _open_alerts(
    w: WebhookSettings, metrics: PipelineMetrics, stack: ExitStack
) -> Callable[[list[IncidentEvent]], None] | None:
    """The member's hook that stores incident events in the outbox, with the dispatcher that
    delivers them running until ``stack`` closes; None when no webhook URL is set."""
    if not w.urls:
        return None
    outbox = Outbox(w.outbox)
    stack.callback(outbox.close)
    dispatcher = Dispatcher(
        outbox,
        w.secret.get_secret_value().encode(),
        timeout_s=w.timeout_s,
        backoff_ms=w.backoff_ms,
        max_backoff_ms=w.max_backoff_ms,
        rate_per_s=w.rate_per_s,
        on_outcome=lambda outcome: metrics.webhooks.labels(outcome).inc(),
    ).start()
    stack.callback(dispatcher.stop)  # stops before the outbox closes
    metrics.outbox.set_function(outbox.pending)

    def store(events: list[IncidentEvent]) -> None:
        outbox.add(
            (url, e.event_id, e.incident_id, payload(e, w.format)) for e in events for url in w.urls
        )

    return store


def _appending(path: Path) -> BinaryIO:
    """``path`` opened to append, unbuffered (run --out: each flush one write, whole lines, so
    members can share the file); `ConfigError` naming it if it cannot be."""
    try:
        return path.open("ab", buffering=0)
    except OSError as exc:
        rule = f"must be a writable file ({exc.strerror})"
        raise ConfigError.invalid("--out", rule, str(path)) from exc


@contextmanager
def open_member(settings: Settings, bootstrap_servers: str) -> Iterator[Member]:
    """A consumer-group member on ``bootstrap_servers``; its clients close on exit."""
    k = settings.kafka
    detector = build_detector(settings.detector)
    first = detector.routes[0].info
    metrics = PipelineMetrics(asset_cap=settings.metrics_asset_cap)
    with ExitStack() as stack:
        source = make_source(k, bootstrap_servers, k.group_id, "edgewatch-member")
        stack.callback(source.close)
        sink: MessageSink = make_sink(k, bootstrap_servers, "edgewatch-member")
        stack.callback(sink.close)
        if settings.out is not None:
            copy = JsonLinesSink(stack.enter_context(_appending(settings.out)))
            sink = TeeSink(sink, copy, (k.detections_topic, k.incidents_topic))
        member = Member(
            source,
            sink,
            detector,
            topics=Topics(k.input_topic, k.detections_topic, k.dlq_topic, k.incidents_topic),
            metrics=metrics,
            model=first.name,
            model_version=first.version,
            threshold=first.threshold,
            incidents=build_tracker(settings.incidents),
            alerts=_open_alerts(settings.webhooks, metrics, stack),
            emit_all=settings.emit == "all",
            chunk=settings.detector.batch_size,
            changelog=_changelog(k, bootstrap_servers, detector.version),
            commit_interval_ms=k.commit_interval_ms,
            max_assets=settings.detector.max_assets,
        )
        stack.enter_context(steady_gc())
        yield member
        # only on a clean exit: after an error, the last commit stands
        member.checkpoint(stopping=True)
