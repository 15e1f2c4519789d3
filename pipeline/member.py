"""`Member`: the processing loop of one consumer-group member.

poll batch -> per chunk: decode + validate + sequence check (bad -> DLQ) -> detector (the
cascade; its model runs on a worker thread, overlapping the next chunk) -> detections + incident
events -> once per batch: flush -> at each checkpoint: changelog snapshots, commit.

At-least-once: every output of a batch (detections, incident events and DLQ messages) is
acknowledged by the broker, and its incident events are stored in the webhook outbox, before its
offsets may be committed; offsets are committed at checkpoints (`checkpoint`: every
``commit_interval_ms``, or after every batch when it is 0). A crash re-processes the records since
the last commit; detection and incident ids make the duplicates harmless. When a rebalance takes
partitions away, the state of their assets is dropped (never reused stale if they come back). Where
they land it is restored from the changelog topic, if one is configured (`state`: snapshots are
flushed before the offsets they cover are committed), else rebuilt from the stream and counted as
warm-up.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from time import perf_counter

import numpy as np

from edgewatch.errors import RecordError
from edgewatch.incidents import IncidentEvent
from edgewatch.operators import Confusion, EventRecall, IncidentTracker, Scored, SequenceGuard
from edgewatch.operators.base import StreamDetector
from edgewatch.operators.sequence import SEQUENCE_REASONS
from edgewatch.pipeline.checkpoint import Checkpoints
from edgewatch.pipeline.metrics.registry import STAGES, PipelineMetrics
from edgewatch.pipeline.outputs import Outputs, Topics
from edgewatch.pipeline.state import Changelog, Stateful
from edgewatch.records import REASONS, SensorRecord, decode_record
from edgewatch.transport import Message, MessageSink, MessageSource, TopicPartition

__all__ = ["DLQ_REASONS", "Member", "Topics"]

log = logging.getLogger(__name__)
DLQ_REASONS = (*REASONS, "bad_key", "too_many_assets", *SEQUENCE_REASONS)


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class Member:
    """Runs ``detector`` over batches from ``source`` and writes to ``sink``; see module doc."""

    def __init__(
        self,
        source: MessageSource,
        sink: MessageSink,
        detector: StreamDetector,
        *,
        topics: Topics,
        metrics: PipelineMetrics,
        model: str,
        model_version: str,
        threshold: float,
        incidents: IncidentTracker | None = None,
        alerts: Callable[[list[IncidentEvent]], None] | None = None,
        emit_all: bool = False,
        chunk: int = 256,
        changelog: Changelog | None = None,
        commit_interval_ms: int = 0,
        max_assets: int = 100_000,
        wall_ms: Callable[[], int] = _wall_ms,
    ) -> None:
        self.source, self.sink, self.detector = source, sink, detector
        self.topics, self.metrics = topics, metrics
        self.outputs = Outputs(sink, topics, model, model_version, threshold, emit_all)
        self.tracker = incidents if incidents is not None else IncidentTracker()
        self.alerts = alerts  # stores incident events durably (the webhook outbox)
        self.chunk = chunk
        self.changelog = changelog
        self.checkpoints = Checkpoints(commit_interval_ms, changelog)
        self.wall_ms = wall_ms
        self.guard = SequenceGuard()
        #: at most this many assets hold state here; records of further ones go to the DLQ
        self.max_assets = max_assets
        #: the components with per-asset state, by their name in changelog snapshots
        self._parts: dict[str, Stateful] = {
            "detector": detector,
            "incidents": self.tracker,
            "sequence": self.guard,
        }
        self.consumed = self.invalid = self.detections = self.warmup = self.unfit = 0
        self.windows = self.woken = self.incidents_opened = 0
        self.confusion = Confusion()
        self.events = EventRecall()
        self.first_ms: int | None = None
        self.last_ms: int | None = None
        # warming, model calls, gaps, model seconds, windows, seq restarts, unfit
        self._seen: tuple[int, int, int, float, int, int, int] = (0, 0, 0, 0.0, 0, 0, 0)
        self._partition_of: dict[str, TopicPartition] = {}
        #: per partition held, the offset after the last message processed: after a rebalance
        #: that leaves a partition here, the client re-reads it from the last commit
        self._processed: dict[TopicPartition, int] = {}
        self.redelivered = 0  # messages skipped because this member had processed them
        self._assignment: set[TopicPartition] = set()
        for reason in DLQ_REASONS:
            metrics.dlq.labels(reason)
        for outcome in ("valid", "invalid", "redelivered"):
            metrics.records.labels(outcome)

    def step(self, timeout_ms: int = 200, max_records: int = 2_000) -> int:
        """Process one polled batch; return how many messages it held.

        The batch goes through the detector in chunks of ``chunk`` messages, pipelined: while the
        model scores one chunk (on its own thread), this thread decodes the next and publishes
        the one before. Outputs are flushed and offsets committed once, for the whole batch."""
        messages = self.source.poll(timeout_ms, max_records)
        self._follow_assignment()
        lag = self.source.lag()  # no round trip: current with every poll
        if lag is not None:
            self.metrics.lag.set(lag)
        if not messages:
            # input gone quiet: what is done is committed within one interval, not left hanging
            if self.checkpoints.pending and self.checkpoints.due(self.wall_ms()):
                self.checkpoint()
            return 0
        if self.first_ms is None:
            self.first_ms = self.wall_ms()
        spent = dict.fromkeys(STAGES, 0.0)
        redelivered = self.redelivered
        stamps: list[int] = []
        offsets: dict[TopicPartition, int] = {}
        newest: dict[str, Message] = {}  # asset -> its newest valid message in the batch
        scored: list[Scored] = []
        incidents: list[IncidentEvent] = []
        pending: Callable[[], list[Scored]] | None = None
        for start in range(0, len(messages), self.chunk):
            t0 = perf_counter()
            records = self._admit_all(messages[start : start + self.chunk], offsets, stamps, newest)
            t1 = perf_counter()
            submitted = self.detector.submit(records)
            spent["decode"] += t1 - t0
            spent["detect"] += perf_counter() - t1
            if pending is not None:
                self._publish(pending, scored, incidents, spent)
            pending = submitted
        if pending is not None:
            self._publish(pending, scored, incidents, spent)
        t2 = perf_counter()
        checkpoints = self.checkpoints
        checkpoints.touch(newest)
        due = checkpoints.due(self.wall_ms())
        if due:
            self.metrics.snapshots.inc(checkpoints.snapshot(self.sink, self._parts))
        if incidents and self.alerts is not None:
            self.alerts(incidents)
        self.sink.flush()
        done_ms = self.wall_ms()
        checkpoints.offsets.update(offsets)
        t3 = perf_counter()
        spent["produce"] += t3 - t2
        if due:
            checkpoints.commit(self.source, done_ms)
            spent["commit"] += perf_counter() - t3
        else:
            del spent["commit"]  # a batch that commits nothing takes no part in commit times
        skipped = self.redelivered - redelivered
        if skipped:
            self.metrics.records.labels("redelivered").inc(skipped)
        taken = len(messages) - skipped
        self._account(taken, scored, incidents, np.asarray(stamps, np.int64), done_ms)
        for name, seconds in spent.items():
            self.metrics.stages[name].observe_many(np.array([seconds]))
        return len(messages)

    def checkpoint(self, stopping: bool = False, settle_s: float = 5.0) -> None:
        """Snapshot, flush and commit what has been processed now, due or not.

        ``stopping`` (a clean stop): if the group refuses the commit because it is rebalancing,
        the member takes part in the rebalance for up to ``settle_s`` (it polls and leaves what
        it gets unread, which only a member about to stop may do) and commits what it still owns,
        so that it leaves the group as a current member."""
        if not self.checkpoints.pending:
            return
        self.metrics.snapshots.inc(self.checkpoints.snapshot(self.sink, self._parts))
        self.sink.flush()
        deadline = time.monotonic() + settle_s
        while not self.checkpoints.commit(self.source, self.wall_ms()) and stopping:
            if time.monotonic() >= deadline:
                log.info("stopping without the last commit: the next owners re-read from the last")
                return
            self.source.poll(100, 1)  # joins the rebalance; what it returns stays unread
            self._follow_assignment(restore=False)  # offsets of partitions lost are dropped

    def _admit_all(
        self,
        messages: Sequence[Message],
        offsets: dict[TopicPartition, int],
        stamps: list[int],
        newest: dict[str, Message],
    ) -> list[SensorRecord]:
        """The valid records of ``messages`` (the rest go to the DLQ); notes offsets to commit
        and each asset's newest valid message."""
        records: list[SensorRecord] = []
        guard, append, processed = self.guard, records.append, self._processed
        known, cap = guard.last, self.max_assets
        for m in messages:  # per message: keep this loop lean
            tp = (m.topic, m.partition)
            if m.offset < processed.get(tp, 0):
                self.redelivered += 1  # processed before a rebalance kept the partition here
                continue
            offsets[tp] = m.offset + 1  # a partition's messages come in order
            try:
                record = decode_record(m.value or b"")
                if m.key != record.asset.encode():
                    raise RecordError("<key>", "bad_key", "must equal the record's asset", m.key)
                if len(known) >= cap and record.asset not in known:
                    raise RecordError(
                        "asset",
                        "too_many_assets",
                        f"is a new asset beyond detector.max_assets={cap} held by this member "
                        "(raise it, or add members)",
                        record.asset,
                    )
                reason = guard.check(record)
                if reason is not None:
                    last = guard.last[record.asset]
                    raise RecordError(
                        "seq", reason, f"must be greater than {last} for this asset", record.seq
                    )
            except RecordError as exc:
                self._dead_letter(exc, m)
                continue
            newest[record.asset] = m
            append(record)
            stamps.append(m.timestamp)
        processed.update(offsets)
        partition_of = self._partition_of
        for asset, m in newest.items():
            partition_of[asset] = (m.topic, m.partition)
        return records

    def _publish(
        self,
        pending: Callable[[], list[Scored]],
        scored: list[Scored],
        incidents: list[IncidentEvent],
        spent: dict[str, float],
    ) -> None:
        """Wait for a chunk's scores, track incidents and send the chunk's outputs."""
        t0 = perf_counter()
        chunk = pending()
        events = self.tracker.process(chunk)
        t1 = perf_counter()
        self.outputs.results(chunk, events)
        spent["detect"] += t1 - t0
        spent["produce"] += perf_counter() - t1
        scored += chunk
        incidents += events

    @property
    def wake_rate(self) -> float:
        """Share of windows so far the gate woke the model for."""
        return self.woken / self.windows if self.windows else 0.0

    def _follow_assignment(self, restore: bool = True) -> None:
        """Drop the state of assets whose partitions this member no longer owns; restore the
        assets of partitions it gained from the changelog, if there is one (and ``restore``)."""
        current = self.source.assignment()
        lost, gained = self._assignment - current, current - self._assignment
        self._assignment = current
        if lost:
            gone = [asset for asset, tp in self._partition_of.items() if tp in lost]
            for asset in gone:
                del self._partition_of[asset]
            for part in self._parts.values():
                part.evict(gone)
            self.checkpoints.drop(lost, gone)
            for tp in lost:
                self._processed.pop(tp, None)
            log.info("rebalance partitions_lost=%s assets_dropped=%d", sorted(lost), len(gone))
        if gained and restore and self.changelog is not None:
            self._restore(self.changelog, gained)

    def _restore(self, changelog: Changelog, gained: set[TopicPartition]) -> None:
        topic = self.topics.input
        committed = self.source.committed(tp for tp in gained if tp[0] == topic)
        found = changelog.restore(self._parts, {p: at for (_, p), at in committed.items()})
        for asset, partition in found.assets.items():
            self._partition_of[asset] = (topic, partition)
        self.metrics.restored.inc(len(found.assets))
        for reason in ("invalid", "foreign", "ahead"):
            self.metrics.snapshots_skipped.labels(reason).inc(getattr(found, reason))

    def _dead_letter(self, exc: RecordError, m: Message) -> None:
        self.outputs.dead_letter(exc, m)
        self.metrics.dlq.labels(exc.reason).inc()
        self.metrics.records.labels("invalid").inc()
        self.invalid += 1
        log.debug(
            "dlq reason=%s partition=%s offset=%s: %s", exc.reason, m.partition, m.offset, exc
        )

    def _account(
        self,
        count: int,
        scored: list[Scored],
        incidents: list[IncidentEvent],
        stamps: np.ndarray,
        done_ms: int,
    ) -> None:
        m = self.metrics
        valid = len(stamps)
        flagged = sum(1 for s in scored if s.decision)
        woken = sum(1 for s in scored if s.woken)
        self.consumed += count
        self.detections += flagged
        self.windows += len(scored)
        self.woken += woken
        self.incidents_opened += sum(1 for e in incidents if e.kind == "opened")
        self.confusion.update(scored)
        m.records.labels("valid").inc(valid)
        m.record_confusion(self.confusion)
        m.record_windows(scored, woken, self.events.update(scored))
        m.record_incidents(scored, incidents, self.tracker.open_incidents())
        d = self.detector
        g = self.guard
        now = (
            *(d.warming, d.invocations, g.gaps, d.model_seconds, d.model_windows),
            *(g.restarts, d.unfit),
        )
        m.warmup.inc(now[0] - self._seen[0])
        m.model_calls.inc(now[1] - self._seen[1])
        m.gaps.inc(now[2] - self._seen[2])
        m.model_seconds.inc(now[3] - self._seen[3])
        m.model_windows.inc(now[4] - self._seen[4])
        m.restarts.inc(now[5] - self._seen[5])
        m.unfit.inc(now[6] - self._seen[6])
        self.unfit += now[6] - self._seen[6]
        for asset, lacking in d.take_unfit().items():
            log.warning(
                "asset=%r does not fit model %s: it lacks channel(s) %s; from now on the "
                "unsupervised online detector scores its records (those already received are "
                "counted in edgewatch_unfit_records_total). For the model, send those channels "
                "or train one on the asset's own (edgewatch train)",
                asset, self.outputs.model, ", ".join(lacking),
            )  # fmt: skip
        self.warmup += now[0] - self._seen[0]
        self._seen = now
        if stamps.size:
            m.end_to_end.observe_many(np.maximum(done_ms - stamps, 0) / 1000.0)
        m.assets.set(len(self.detector))
        self.last_ms = done_ms

    def run(
        self,
        stop: threading.Event,
        poll_timeout_ms: int,
        max_records: int,
        until_idle_s: float | None = None,
    ) -> None:
        """Process batches until ``stop`` is set, or (``until_idle_s``) until the member has held
        partitions for that long with no message arriving and no change of assignment; the batch
        in hand is always finished and everything processed committed first."""
        active, assignment = time.monotonic(), self._assignment
        while not stop.is_set():
            busy = self.step(poll_timeout_ms, max_records)
            if busy or self._assignment != assignment or not assignment:
                active, assignment = time.monotonic(), self._assignment
            elif until_idle_s is not None and time.monotonic() - active >= until_idle_s:
                log.info("input idle for %.1f s: stopping", until_idle_s)
                break
        self.checkpoint(stopping=True)
