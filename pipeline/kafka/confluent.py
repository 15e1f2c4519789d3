"""Optional Kafka transport on confluent-kafka (librdkafka): `ConfluentSource`, `ConfluentSink`.

Same contracts as `kafka_python` (kafka-python stays the default): offsets are committed only by
`commit`, a flush returns once every message sent so far is acknowledged, and keys are partitioned
with murmur2 like the Java and kafka-python clients, so both transports put an asset on the same
partition. librdkafka does the fetching, batching and acknowledging on its own native threads,
outside the GIL: on the embedded broker a send costs ~5 µs instead of ~80 µs.
Install with ``pip install 'edgewatch[confluent]'``; select with ``kafka.client: confluent``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from edgewatch.errors import BrokerError, CommitRejectedError, DependencyMissingError
from edgewatch.transport import Message, Offsets, StoredMessage, TopicPartition

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
        self._consumer.subscribe(list(topics))

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
        for m in batch:
            error = m.error()
            if error is None:
                out.append(
                    StoredMessage(
                        m.topic(), m.partition(), m.offset(), m.timestamp()[1], m.key(), m.value()
                    )
                )
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
        return {(tp.topic, tp.partition) for tp in self._consumer.assignment()}

    def committed(self, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, int | None]:
        asked = [self._ck.TopicPartition(t, p) for t, p in partitions]
        try:
            found = self._consumer.committed(asked, timeout=10) if asked else []
        except self._ck.KafkaException as exc:
            raise BrokerError(f"reading committed offsets failed: {exc!r}") from exc
        return {(tp.topic, tp.partition): tp.offset if tp.offset >= 0 else None for tp in found}

    def lag(self) -> int | None:
        """Messages behind the end of the assigned partitions (None before assignment). A
        partition not read yet counts from its committed offset (else its start)."""
        consumer = self._consumer
        assigned = consumer.assignment()
        if not assigned:
            return None
        try:
            positions = consumer.position(assigned)
            unread = [tp for tp in positions if tp.offset < 0]
            committed = consumer.committed(unread, timeout=2) if unread else []
            start = {(tp.topic, tp.partition): tp.offset for tp in committed if tp.offset >= 0}
            total = 0
            for tp in positions:
                # the ends the last fetch saw (no round trip); ask the broker if none yet
                low, high = consumer.get_watermark_offsets(tp, cached=True)
                if high < 0:
                    low, high = consumer.get_watermark_offsets(tp, timeout=2)
                at = tp.offset if tp.offset >= 0 else start.get((tp.topic, tp.partition), low)
                total += max(0, high - at)
            return total
        except self._ck.KafkaException:
            return None

    def close(self) -> None:
        self._consumer.close()  # auto-commit is off: this commits nothing


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
            },
            logger=log,
        )
        self._error: Any = None
        self._failures = 0

    def _delivered(self, error: Any, _message: Any) -> None:  # runs inside poll() / flush()
        if error is not None:
            self._failures += 1
            self._error = self._error or error

    def send(
        self, topic: str, key: bytes | None, value: bytes, partition: int | None = None
    ) -> None:
        where = {} if partition is None else {"partition": partition}
        while True:
            try:
                self._producer.produce(topic, value, key, on_delivery=self._delivered, **where)
                return
            except BufferError:  # the local queue is full: serve acknowledgements, then retry
                self._producer.poll(0.1)
            except self._ck.KafkaException as exc:
                raise BrokerError(f"send to {topic!r} failed: {exc!r}") from exc

    def flush(self, timeout_s: float = 30.0) -> None:
        left = self._producer.flush(timeout_s)
        error, failures, self._error, self._failures = self._error, self._failures, None, 0
        if left:
            raise BrokerError(f"flush did not complete within {timeout_s} s: {left} unacknowledged")
        if error is not None:
            raise BrokerError(f"{failures} message(s) were not acknowledged: {error}")

    def close(self) -> None:
        self._producer.flush(10)
