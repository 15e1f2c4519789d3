"""Wiring: build a Kafka-backed `Member` with the foundation's detector from the settings.

The detector is a per-asset EW z-score, thresholded; the model cascade replaces it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from operators import Chain, EWZScore, PerAsset, Threshold
from pipeline.kafka import KafkaSink, KafkaSource
from pipeline.member import Member, Topics
from pipeline.metrics import PipelineMetrics
from pipeline.settings import Settings

__all__ = ["open_member"]


@contextmanager
def open_member(settings: Settings, bootstrap_servers: str) -> Iterator[Member]:
    """A consumer-group member on ``bootstrap_servers``; its clients close on exit."""
    k = settings.kafka
    cfg = settings.detector
    scorer = PerAsset(lambda: EWZScore(cfg.fading_factor, cfg.warmup), max_assets=cfg.max_assets)
    detector = Chain(scorer, Threshold(cfg.threshold))
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
            detector,
            topics=Topics(k.input_topic, k.detections_topic, k.dlq_topic),
            metrics=PipelineMetrics(),
            model="ewzscore",
            model_version="1",
            threshold=settings.detector.threshold,
            emit_all=settings.emit == "all",
            tracked_assets=scorer.__len__,
        )
    finally:
        sink.close()
        source.close()
