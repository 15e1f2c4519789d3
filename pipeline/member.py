"""`Member`: the processing loop of one consumer-group member.

poll batch -> decode + validate (bad -> DLQ) -> detector -> detections -> flush -> commit.

At-least-once: offsets are committed only after every output of the batch (detections and DLQ
messages) has been acknowledged by the broker. A crash re-processes at most the uncommitted batch;
detection ids make the duplicates harmless.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from time import perf_counter

import numpy as np

from edgewatch.detections import Detection, dlq_message
from edgewatch.errors import RecordError
from edgewatch.records import REASONS, SensorRecord, decode_record
from edgewatch.transport import Message, MessageSink, MessageSource, TopicPartition
from operators import Confusion, Operator, Scored
from pipeline.metrics import STAGES, PipelineMetrics

__all__ = ["DLQ_REASONS", "Member", "Topics"]

log = logging.getLogger(__name__)
DLQ_REASONS = (*REASONS, "bad_key")


@dataclass(frozen=True, slots=True)
class Topics:
    input: str
    detections: str
    dlq: str


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class Member:
    """Runs ``detector`` over batches from ``source`` and writes to ``sink``; see module doc."""

    def __init__(
        self,
        source: MessageSource,
        sink: MessageSink,
        detector: Operator[SensorRecord, Scored],
        *,
        topics: Topics,
        metrics: PipelineMetrics,
        model: str,
        model_version: str,
        threshold: float,
        emit_all: bool = False,
        wall_ms: Callable[[], int] = _wall_ms,
        tracked_assets: Callable[[], int] | None = None,
    ) -> None:
        self.source, self.sink, self.detector = source, sink, detector
        self.topics, self.metrics = topics, metrics
        self.model, self.model_version, self.threshold = model, model_version, threshold
        self.emit_all = emit_all
        self.wall_ms = wall_ms
        self.tracked_assets = tracked_assets
        self.consumed = 0
        self.invalid = 0
        self.detections = 0
        self.confusion = Confusion()
        self.first_ms: int | None = None
        self.last_ms: int | None = None
        for reason in DLQ_REASONS:
            metrics.dlq.labels(reason)
        for outcome in ("valid", "invalid"):
            metrics.records.labels(outcome)
        for outcome in ("tp", "fp", "tn", "fn"):
            metrics.evaluation.labels(outcome)

    def step(self, timeout_ms: int = 200, max_records: int = 2_000) -> int:
        """Process one polled batch; return how many messages it held."""
        messages = self.source.poll(timeout_ms, max_records)
        if not messages:
            return 0
        if self.first_ms is None:
            self.first_ms = self.wall_ms()
        t0 = perf_counter()
        records: list[SensorRecord] = []
        stamps: list[int] = []
        offsets: dict[TopicPartition, int] = {}
        for m in messages:
            tp = (m.topic, m.partition)
            offsets[tp] = max(offsets.get(tp, 0), m.offset + 1)
            try:
                record = decode_record(m.value or b"")
                if m.key != record.asset.encode():
                    raise RecordError("<key>", "bad_key", "must equal the record's asset", m.key)
            except RecordError as exc:
                self._dead_letter(exc, m)
                continue
            records.append(record)
            stamps.append(m.timestamp)
        t1 = perf_counter()
        scored = self.detector.process(records)
        t2 = perf_counter()
        self._emit(scored)
        self.sink.flush()
        done_ms = self.wall_ms()
        t3 = perf_counter()
        self.source.commit(offsets)
        t4 = perf_counter()
        self._account(len(messages), scored, np.asarray(stamps, dtype=np.int64), done_ms)
        for name, seconds in zip(STAGES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            self.metrics.stages[name].observe_many(np.array([seconds]))
        return len(messages)

    def _dead_letter(self, exc: RecordError, m: Message) -> None:
        value = dlq_message(exc, m.value, m.topic, m.partition, m.offset)
        self.sink.send(self.topics.dlq, m.key, value)
        self.metrics.dlq.labels(exc.reason).inc()
        self.metrics.records.labels("invalid").inc()
        self.invalid += 1
        log.debug(
            "dlq reason=%s partition=%s offset=%s: %s", exc.reason, m.partition, m.offset, exc
        )

    def _emit(self, scored: list[Scored]) -> None:
        topic, send, emit_all = self.topics.detections, self.sink.send, self.emit_all
        for item in scored:
            if not (item.decision or emit_all):
                continue
            r = item.record
            detection = Detection(
                asset=r.asset,
                ts=r.ts,
                seq=r.seq,
                score=item.score,
                threshold=self.threshold,
                decision=item.decision,
                model=self.model,
                model_version=self.model_version,
                label=r.label,
                source=r.source,
            )
            send(topic, r.asset.encode(), detection.encode())

    def _account(self, count: int, scored: list[Scored], stamps: np.ndarray, done_ms: int) -> None:
        m = self.metrics
        valid = len(scored)
        flagged = sum(1 for s in scored if s.decision)
        self.consumed += count
        self.detections += flagged
        self.confusion.update(scored)
        m.records.labels("valid").inc(valid)
        m.detections.inc(flagged)
        m.record_confusion(self.confusion)
        if stamps.size:
            m.end_to_end.observe_many(np.maximum(done_ms - stamps, 0) / 1000.0)
        if self.tracked_assets is not None:
            m.assets.set(self.tracked_assets())
        self.last_ms = done_ms

    def run(self, stop: threading.Event, poll_timeout_ms: int, max_records: int) -> None:
        """Process batches until ``stop`` is set; the batch in hand is always finished first."""
        next_lag = 0.0
        while not stop.is_set():
            self.step(poll_timeout_ms, max_records)
            if time.monotonic() >= next_lag:
                lag = self.source.lag()
                if lag is not None:
                    self.metrics.lag.set(lag)
                next_lag = time.monotonic() + 2.0
