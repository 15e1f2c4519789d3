"""`Outputs`: what a member sends for a batch, and where: detections, incident events, dead
letters. Each goes to its own topic, keyed by asset (dead letters by their original key).

`TeeSink` with a `JsonLinesSink` also appends the messages of chosen topics to a JSON-lines file
(``run --out``): each line is the message as its topic carries it, and the file is flushed
whenever the sink is, so before any offset is committed. After a crash the file may hold a
duplicate or two (same ids), never a gap."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO

from edgewatch.detections import DLQ_KEY_BYTES, Detection, dlq_message
from edgewatch.errors import RecordError
from edgewatch.incidents import IncidentEvent
from edgewatch.operators import Scored
from edgewatch.transport import Message, MessageSink

__all__ = ["JsonLinesSink", "Outputs", "TeeSink", "Topics"]


@dataclass(frozen=True, slots=True)
class Topics:
    input: str
    detections: str
    dlq: str
    incidents: str = "edgewatch.incidents"


@dataclass(frozen=True, slots=True)
class Outputs:
    sink: MessageSink
    topics: Topics
    model: str
    model_version: str
    threshold: float
    emit_all: bool = False  # a detection for every window, not only anomalous ones

    def results(self, scored: list[Scored], incidents: list[IncidentEvent]) -> None:
        topic, send, emit_all = self.topics.detections, self.sink.send, self.emit_all
        for item in scored:
            if not (item.decision or emit_all):
                continue
            r, info = item.record, item.model
            detection = Detection(
                asset=r.asset,
                ts=r.ts,
                seq=r.seq,
                score=item.score,
                threshold=self.threshold if info is None else info.threshold,
                decision=item.decision,
                model=self.model if info is None else info.name,
                model_version=self.model_version if info is None else info.version,
                prefilter_score=item.prefilter,
                woken=item.woken,
                top_channels=list(item.top_channels),
                label=r.label,
                source=r.source,
            )
            send(topic, r.asset.encode(), detection.encode())
        for event in incidents:
            send(self.topics.incidents, event.asset.encode(), event.encode())

    def dead_letter(self, exc: RecordError, m: Message) -> None:
        """The message, why it was rejected and where it came from, to the DLQ topic."""
        value = dlq_message(exc, m.value, m.topic, m.partition, m.offset)
        key = m.key if m.key is None or len(m.key) <= DLQ_KEY_BYTES else m.key[:DLQ_KEY_BYTES]
        self.sink.send(self.topics.dlq, key, value)


class JsonLinesSink:
    """A `MessageSink` that writes each message's value as one line of ``stream`` (replay
    --dry-run, run --out). Lines are held until a flush (or ``HOLD`` of them) and written in one
    call: on a file opened unbuffered to append, members sharing it never split each other's
    lines. It does not own the stream: ``close`` only flushes."""

    HOLD = 2_000

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream, self._lines = stream, list[bytes]()

    def send(
        self, topic: str, key: bytes | None, value: bytes, partition: int | None = None
    ) -> None:
        self._lines.append(value)
        if len(self._lines) >= self.HOLD:
            self._write()

    def _write(self) -> None:
        if self._lines:
            data = memoryview(b"\n".join(self._lines) + b"\n")
            self._lines.clear()
            while data:  # a regular file takes it in one call; a pipe may take part
                data = data[self.stream.write(data) or 0 :]
        self.stream.flush()

    def flush(self, timeout_s: float = 30.0) -> None:
        self._write()

    def close(self) -> None:
        self._write()


class TeeSink:
    """A `MessageSink` that sends everything through ``inner`` and the messages of ``topics``
    also through ``copy``; a flush flushes both."""

    def __init__(self, inner: MessageSink, copy: MessageSink, topics: Iterable[str]) -> None:
        self.inner, self.copy, self.topics = inner, copy, frozenset(topics)

    def send(
        self, topic: str, key: bytes | None, value: bytes, partition: int | None = None
    ) -> None:
        self.inner.send(topic, key, value, partition)
        if topic in self.topics:
            self.copy.send(topic, key, value, partition)

    def flush(self, timeout_s: float = 30.0) -> None:
        self.inner.flush(timeout_s)
        self.copy.flush(timeout_s)

    def close(self) -> None:
        self.copy.close()
        self.inner.close()
