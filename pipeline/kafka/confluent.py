"""Kafka transport on confluent-kafka (librdkafka), the default: `ConfluentSource`, `ConfluentSink`.

Same contracts as `kafka_python` (selectable with ``kafka.client: kafka-python``): offsets are
committed only by `commit`, a flush returns once every message sent so far is acknowledged, and
keys are partitioned with murmur2 like the Java and kafka-python clients, so both transports put
an asset on the same partition. librdkafka does the fetching, batching and acknowledging on its
own native threads, outside the GIL: on the embedded broker a send costs ~5 µs instead of ~80 µs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from edgewatch.errors import BrokerError, CommitRejectedError, DependencyMissingError
from edgewatch.transport import Message, Offsets, StoredMessage, TopicPartition, behind

__all__ = ["ConfluentSink", "ConfluentSource"]

log = logging.getLogger(__name__)


def _client() -> Any:
    try:
        import confluent_kafka
    except ImportError as exc:
        raise DependencyMissingError(
            "kafka.client 'confluent' needs confluent-kafka, a dependency of edgewatch that is "
            "missing here: run `pip install confluent-kafka`, or use the default client "
            "(kafka.client: kafka-python)"
        ) from exc
    return confluent_kafka


class ConfluentSource:
    """A `MessageSource`: one consumer-group member on librdkafka."""

    def __init__(
        self,
        bootstrap_servers: str,
        topics: Sequence[str],
        group_id: str,
        client_id: str = "edgewatch",
        *,
        fetch_max_wait_ms: int = 100,
        max_poll_interval_ms: int = 10_000,
        session_timeout_ms: int = 10_000,
    ) -> None:
        ck = self._ck = _client()
        self._consumer = ck.Consumer(
            {
                "bootstrap.servers": bootstrap_servers,
                "group.id": group_id,
                "client.id": client_id,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "fetch.wait.max.ms": fetch_max_wait_ms,
                "max.poll.interval.ms": max_poll_interval_ms,
                "session.timeout.ms": session_timeout_ms,
                "heartbeat.interval.ms": 1_000,
            },
            logger=log,
        )
        # The assignment as the rebalance callbacks (run inside poll, on this member's thread)
        # report it: librdkafka's own assignment() holds the GIL while it waits for the group
        # thread, which can wait for a rebalance callback that needs the GIL (seconds, in tests
        # with two members in one process).
        self._assigned: set[TopicPartition] = set()
        self._consumer.subscribe(
            list(topics), on_assign=self._on_assign, on_revoke=self._on_revoke,
            on_lost=self._on_revoke,
        )  # fmt: skip
        self._next: dict[TopicPartition, int] = {}  # per partition, the offset after the last read

    def _on_assign(self, _consumer: Any, partitions: list[Any]) -> None:
        self._assigned = self._assigned | {(tp.topic, tp.partition) for tp in partitions}

    def _on_revoke(self, _consumer: Any, partitions: list[Any]) -> None:
        self._assigned = self._assigned - {(tp.topic, tp.partition) for tp in partitions}

    def poll(self, timeout_ms: int, max_records: int) -> list[Message]:
        # consume(n, timeout) waits for n messages or the timeout; like kafka-python, return as
        # soon as anything is there: what is buffered, else the first message to arrive + the rest.
        consumer = self._consumer
        try:
            batch = consumer.consume(max_records, 0)
            if not batch:
                first = consumer.poll(timeout_ms / 1000)
                batch = [] if first is None else [first]
                if first is not None and max_records > 1:
                    batch += consumer.consume(max_records - 1, 0)
        except self._ck.KafkaException as exc:
            raise BrokerError(f"poll failed: {exc!r}") from exc
        out: list[Message] = []
        read = self._next
        for m in batch:
            error = m.error()
            if error is None:
                topic, partition, offset = m.topic(), m.partition(), m.offset()
                out.append(
                    StoredMessage(topic, partition, offset, m.timestamp()[1], m.key(), m.value())
                )
                read[(topic, partition)] = offset + 1
            elif error.fatal():
                raise BrokerError(f"poll failed: {error}")
            else:  # transient (the client retries) or informational, e.g. partition EOF
                log.warning("consumer: %s", error)
        return out

    def commit(self, offsets: Offsets) -> None:
        if not offsets:
            return
        tps = [self._ck.TopicPartition(t, p, o) for (t, p), o in offsets.items()]
        try:
            self._consumer.commit(offsets=tps, asynchronous=False)
        except self._ck.KafkaException as exc:
            code = exc.args[0].code() if exc.args and hasattr(exc.args[0], "code") else None
            k = self._ck.KafkaError
            rebalancing = (
                k.REBALANCE_IN_PROGRESS,
                k.ILLEGAL_GENERATION,
                k.UNKNOWN_MEMBER_ID,
                k._ASSIGNMENT_LOST,
            )
            if code in rebalancing:
                raise CommitRejectedError(f"offset commit refused: {exc!r}") from exc
            raise BrokerError(f"offset commit failed: {exc!r}") from exc

    def assignment(self) -> set[TopicPartition]:
        return set(self._assigned)

    def committed(self, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, int | None]:
        asked = [self._ck.TopicPartition(t, p) for t, p in partitions]
        try:
            found = self._consumer.committed(asked, timeout=10) if asked else []
        except self._ck.KafkaException as exc:
            raise BrokerError(f"reading committed offsets failed: {exc!r}") from exc
        return {(tp.topic, tp.partition): tp.offset if tp.offset >= 0 else None for tp in found}

    def lag(self) -> int | None:
        """Messages behind the partition ends the last fetches saw, over the assigned partitions
        this member has read from (None before that). No round trip: cheap on every batch."""
        ends = {}
        for topic, partition in self._assigned:
            tp = self._ck.TopicPartition(topic, partition)
            try:
                high = self._consumer.get_watermark_offsets(tp, cached=True)[1]
            except self._ck.KafkaException:
                continue
            if high >= 0:
                ends[(topic, partition)] = high
        return behind(ends, self._next)

    def close(self) -> None:
        self._consumer.close()  # auto-commit is off: this commits nothing


#: Sends between two servings of the producer's delivery reports: librdkafka counts a sent message
#: in its queue (queue.buffering.max.messages, 100,000) until its report is served, so a sender
#: that seldom flushed (the replay) stalled for 20-70 ms at every 100,000th send.
SERVE_EVERY = 1_000


class ConfluentSink:
    """A `MessageSink`: a librdkafka producer with acks=all and per-key order kept on retries."""

    def __init__(self, bootstrap_servers: str, client_id: str = "edgewatch") -> None:
        ck = self._ck = _client()
        self._producer = ck.Producer(
            {
                "bootstrap.servers": bootstrap_servers,
                "client.id": client_id,
                "acks": "all",
                "linger.ms": 5,
                "max.in.flight.requests.per.connection": 1,
                "message.timeout.ms": 30_000,
                "partitioner": "murmur2_random",  # the Java / kafka-python default for keys
                "delivery.report.only.error": True,  # no Python call per acknowledged message
            },
            logger=log,
        )
        self._error: Any = None
        self._failures = 0
        self._unserved = 0  # sends since the delivery reports were last served

    def _delivered(self, error: Any, _message: Any) -> None:  # runs inside poll() / flush()
        if error is not None:
            self._failures += 1
            self._error = self._error or error

    def send(
        self, topic: str, key: bytes | None, value: bytes, partition: int | None = None
    ) -> None:
        where = {} if partition is None else {"partition": partition}
        self._unserved += 1
        if self._unserved >= SERVE_EVERY:  # a sender that seldom flushes (the replay)
            self._unserved = 0
            self._producer.poll(0)
        while True:
            try:
                self._producer.produce(topic, value, key, on_delivery=self._delivered, **where)
                return
            except BufferError:  # the local queue is full: serve acknowledgements, then retry
                self._producer.poll(0.1)
            except self._ck.KafkaException as exc:
                raise BrokerError(f"send to {topic!r} failed: {exc!r}") from exc

    def flush(self, timeout_s: float = 30.0) -> None:
        self._unserved = 0
        left = self._producer.flush(timeout_s)
        error, failures, self._error, self._failures = self._error, self._failures, None, 0
        if left:
            raise BrokerError(f"flush did not complete within {timeout_s} s: {left} unacknowledged")
        if error is not None:
            raise BrokerError(f"{failures} message(s) were not acknowledged: {error}")

    def close(self) -> None:
        self._producer.flush(10)
