"""Wiring: the cascade from the settings and a model artifact, and a Kafka-backed `Member`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from models.artifacts import OnnxModel, load_model, shipped_card
from operators import Cascade, IncidentTracker
from pipeline.kafka import KafkaSink, KafkaSource, ensure_topics
from pipeline.member import Member, Topics
from pipeline.metrics import PipelineMetrics
from pipeline.settings import DetectorSettings, IncidentSettings, KafkaSettings, Settings

__all__ = [
    "build_cascade",
    "build_tracker",
    "ensure_member_topics",
    "load_detector_model",
    "open_member",
]


def ensure_member_topics(bootstrap_servers: str, k: KafkaSettings) -> None:
    """Create the member's topics where missing (the DLQ needs no parallelism)."""
    ensure_topics(
        bootstrap_servers,
        {
            k.input_topic: k.partitions,
            k.detections_topic: k.partitions,
            k.incidents_topic: k.partitions,
            k.dlq_topic: 1,
        },
    )


def load_detector_model(cfg: DetectorSettings) -> OnnxModel:
    """The artifact named by ``cfg.model``, else the shipped simulated one (sha256-checked)."""
    return load_model(cfg.model if cfg.model is not None else shipped_card("simulated"))


def build_cascade(cfg: DetectorSettings, model: OnnxModel) -> Cascade:
    return Cascade.from_card(
        model.card,
        model.score,
        prefilter=cfg.prefilter,
        learn=cfg.learn,
        relearn_after=cfg.relearn_after,
        wake_rate=cfg.wake_rate,
        audit_every=cfg.audit_every,
        hold=cfg.hold,
        stride=cfg.stride,
        batch_size=cfg.batch_size,
        threshold=cfg.threshold,
        top_channels=cfg.top_channels,
        max_assets=cfg.max_assets,
    )


def build_tracker(cfg: IncidentSettings) -> IncidentTracker:
    return IncidentTracker(cfg.k, cfg.m, cfg.quiet_ms, cfg.update_ms)


@contextmanager
def open_member(settings: Settings, bootstrap_servers: str) -> Iterator[Member]:
    """A consumer-group member on ``bootstrap_servers``; its clients close on exit."""
    k = settings.kafka
    model = load_detector_model(settings.detector)
    cascade = build_cascade(settings.detector, model)
    source = KafkaSource(
        bootstrap_servers,
        [k.input_topic],
        k.group_id,
        client_id="edgewatch-member",
        max_poll_records=k.max_poll_records,
        fetch_max_wait_ms=k.fetch_max_wait_ms,
        max_poll_interval_ms=k.max_poll_interval_ms,
        session_timeout_ms=k.session_timeout_ms,
    )
    try:
        sink = KafkaSink(bootstrap_servers, client_id="edgewatch-member")
    except BaseException:
        source.close()
        raise
    try:
        yield Member(
            source,
            sink,
            cascade,
            topics=Topics(k.input_topic, k.detections_topic, k.dlq_topic, k.incidents_topic),
            metrics=PipelineMetrics(),
            model=str(model.card["name"]),
            model_version=str(model.card["sha256"])[:12],
            threshold=cascade.threshold_value,
            incidents=build_tracker(settings.incidents),
            emit_all=settings.emit == "all",
        )
    finally:
        sink.close()
        source.close()
