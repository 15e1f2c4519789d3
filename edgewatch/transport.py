"""Message transport interfaces, and an in-memory double for unit tests.

The pipeline and the replay engine talk to Kafka only through `MessageSource` and `MessageSink`.
`edgewatch.pipeline.kafka` implements them on kafka-python and confluent-kafka; `MemoryBroker`
implements them in memory, with the same partitioning by key and the same commit semantics
(committed offset = next to read).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from edgewatch.errors import BrokerError

__all__ = [
    "MemoryBroker",
    "Message",
    "MessageSink",
    "MessageSource",
    "Offsets",
    "StoredMessage",
    "TopicPartition",
    "behind",
]

TopicPartition = tuple[str, int]
#: Offsets to commit: (topic, partition) -> the next offset to read.
Offsets = Mapping[TopicPartition, int]


class Message(Protocol):
    """A consumed message (kafka-python's ConsumerRecord satisfies this as it is)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def timestamp(self) -> int: ...  # ms since the epoch, when the producer appended it
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...


class MessageSource(Protocol):
    def poll(self, timeout_ms: int, max_records: int) -> Sequence[Message]: ...
    def commit(self, offsets: Offsets) -> None: ...
    def assignment(self) -> set[TopicPartition]:
        """The partitions this member owns now (empty before the group assigns any)."""
        ...

    def committed(self, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, int | None]:
        """The group's committed offset of each partition (None: nothing committed yet)."""
        ...

    def lag(self) -> int | None:
        """Messages between this member's positions and the partition ends (None: unknown)."""
        ...

    def close(self) -> None: ...


class MessageSink(Protocol):
    def send(
        self, topic: str, key: bytes | None, value: bytes, partition: int | None = None
    ) -> None:
        """Queue a message; ``partition`` None = the key's partition (murmur2, as Kafka's)."""
        ...

    def flush(self, timeout_s: float = 30.0) -> None:
        """Block until every message sent so far is acknowledged; raise `BrokerError` if not."""
        ...

    def close(self) -> None: ...


def behind(ends: Mapping[TopicPartition, int], read: dict[TopicPartition, int]) -> int | None:
    """Lag: over the partitions in ``ends`` (end offsets) that ``read`` (the offset after the
    last message read) knows, how many messages are left; None if it knows none. Forgets the
    partitions of ``read`` that are not in ``ends`` (revoked), so a later reassignment starts
    afresh."""
    for tp in read.keys() - ends.keys():
        del read[tp]
    known = [max(0, end - read[tp]) for tp, end in ends.items() if tp in read]
    return sum(known) if known else None


@dataclass(slots=True)
class StoredMessage:
    """A message as a `Message`: kept in `MemoryBroker`, and what other clients' consumed messages
    become. Read-only by contract (not frozen: one is built per consumed message)."""

    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None


@dataclass
class MemoryBroker:
    """Topics, partitions and committed offsets in memory; hands out sources and sinks.

    One consumer per group owns every partition (no rebalancing): enough for unit tests.
    """

    now_ms: Callable[[], int] | None = None  # None: a counter, for determinism
    topics: dict[str, list[list[StoredMessage]]] = field(default_factory=dict)
    committed: dict[tuple[str, TopicPartition], int] = field(default_factory=dict)
    _tick: int = 0

    def create_topic(self, name: str, partitions: int = 1) -> None:
        self.topics.setdefault(name, [[] for _ in range(partitions)])

    def append(
        self, topic: str, key: bytes | None, value: bytes | None, partition: int | None = None
    ) -> None:
        if topic not in self.topics:
            self.create_topic(topic)
        parts = self.topics[topic]
        if partition is None:
            partition = zlib.crc32(key) % len(parts) if key is not None else self._tick % len(parts)
        elif not 0 <= partition < len(parts):
            raise BrokerError(f"{topic!r} has no partition {partition} (it has {len(parts)})")
        self._tick += 1
        stamp = self.now_ms() if self.now_ms is not None else self._tick
        log = parts[partition]
        log.append(StoredMessage(topic, partition, len(log), stamp, key, value))

    def messages(self, topic: str, partitions: Iterable[int] | None = None) -> list[StoredMessage]:
        """The messages of ``topic`` (of ``partitions`` only, if given), partition by partition."""
        parts = self.topics.get(topic, [])
        wanted = range(len(parts)) if partitions is None else sorted(partitions)
        return [m for p in wanted if 0 <= p < len(parts) for m in parts[p]]

    def sink(self) -> MemorySink:
        return MemorySink(self)

    def source(self, topics: Sequence[str], group: str) -> MemorySource:
        return MemorySource(self, list(topics), group)


@dataclass
class MemorySink:
    broker: MemoryBroker
    fail: bool = False  # set to make flush() fail, as a broker outage would
    pending: list[tuple[str, bytes | None, bytes, int | None]] = field(default_factory=list)

    def send(
        self, topic: str, key: bytes | None, value: bytes, partition: int | None = None
    ) -> None:
        self.pending.append((topic, key, value, partition))

    def flush(self, timeout_s: float = 30.0) -> None:
        if self.fail:
            raise BrokerError("memory sink: flush failed (simulated outage)")
        for topic, key, value, partition in self.pending:
            self.broker.append(topic, key, value, partition)
        self.pending.clear()

    def close(self) -> None:
        self.pending.clear()


@dataclass
class MemorySource:
    broker: MemoryBroker
    topics: list[str]
    group: str
    position: dict[TopicPartition, int] = field(default_factory=dict)

    def poll(self, timeout_ms: int, max_records: int) -> list[StoredMessage]:
        out: list[StoredMessage] = []
        for topic in self.topics:
            for p, log in enumerate(self.broker.topics.get(topic, [])):
                tp = (topic, p)
                start = self.position.get(tp, self.broker.committed.get((self.group, tp), 0))
                chunk = log[start : start + max_records - len(out)]
                out.extend(chunk)
                self.position[tp] = start + len(chunk)
        return out

    def commit(self, offsets: Offsets) -> None:
        for tp, offset in offsets.items():
            self.broker.committed[(self.group, tp)] = offset

    def assignment(self) -> set[TopicPartition]:
        return {
            (topic, p)
            for topic in self.topics
            for p in range(len(self.broker.topics.get(topic, [])))
        }

    def committed(self, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, int | None]:
        return {tp: self.broker.committed.get((self.group, tp)) for tp in partitions}

    def lag(self) -> int | None:
        committed = self.broker.committed
        return sum(
            len(log) - self.position.get((topic, p), committed.get((self.group, (topic, p)), 0))
            for topic in self.topics
            for p, log in enumerate(self.broker.topics.get(topic, []))
        )

    def close(self) -> None:
        self.position.clear()
