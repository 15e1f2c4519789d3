"""Kafka transport on kafka-python: `KafkaSource`, `KafkaSink` and topic administration.

Works against Apache Kafka and the embedded broker alike; nothing here relies on broker-specific
behaviour. kafka-python errors are translated into `BrokerError` at this boundary.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka import errors as kafka_errors
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError
from kafka.partitioner.default import murmur2
from kafka.structs import OffsetAndMetadata
from kafka.structs import TopicPartition as KafkaTopicPartition

from edgewatch.errors import BrokerError, CommitRejectedError
from edgewatch.transport import Message, Offsets, TopicPartition, behind

__all__ = ["KafkaSink", "KafkaSource", "ensure_topics", "read_topic", "wait_ready"]

log = logging.getLogger(__name__)


def wait_ready(
    bootstrap_servers: str, timeout_s: float, alive: Callable[[], bool] | None = None
) -> None:
    """Block until a broker answers a metadata request over the Kafka protocol."""
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    host, _, port = bootstrap_servers.split(",")[0].rpartition(":")
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            raise BrokerError(f"broker at {bootstrap_servers} exited during start-up")
        try:  # a plain TCP probe first keeps the Kafka client from logging refused connections
            socket.create_connection((host.strip("[]"), int(port)), timeout=1).close()
        except OSError as exc:
            last = exc
            time.sleep(0.05)
            continue
        try:
            admin = KafkaAdminClient(
                bootstrap_servers=bootstrap_servers, request_timeout_ms=2_000, client_id="ready"
            )
        except (KafkaError, OSError) as exc:
            last = exc
            time.sleep(0.1)
            continue
        try:
            admin.list_topics()
            return
        except (KafkaError, OSError) as exc:
            last = exc
        finally:
            admin.close()
    raise BrokerError(
        f"no Kafka broker answered at {bootstrap_servers} within {timeout_s:.0f} s "
        f"(last error: {last!r}); check --bootstrap-servers and that the broker is up"
    )


def ensure_topics(
    bootstrap_servers: str,
    partitions: Mapping[str, int],
    configs: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, int]:
    """Create each missing topic with its partition count (and ``configs[name]``, if any);
    existing topics are left as they are. Returns each named topic's partition count."""
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="edgewatch-admin")
    except (KafkaError, OSError) as exc:
        raise BrokerError(f"cannot reach Kafka at {bootstrap_servers}: {exc!r}") from exc
    configs = configs or {}
    try:
        existing = set(admin.list_topics())
        missing = [
            NewTopic(name, count, 1, topic_configs=dict(configs.get(name, {})))
            for name, count in partitions.items()
            if name not in existing
        ]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # another member was quicker
                admin.create_topics(missing)
            log.info("topics created names=%s", ",".join(t.name for t in missing))
        counts = dict(partitions)
        if existing & set(partitions):
            for topic in admin.describe_topics(sorted(existing & set(partitions))):
                counts[topic.get("name", topic.get("topic"))] = len(topic["partitions"])
        return counts
    except KafkaError as exc:
        raise BrokerError(f"cannot create topics {sorted(partitions)}: {exc!r}") from exc
    finally:
        admin.close()


class KafkaSink:
    """A `MessageSink`: a KafkaProducer with acks=all and per-key order kept on retries."""

    def __init__(self, bootstrap_servers: str, client_id: str = "edgewatch", **config: Any):
        # batch_size stays at Kafka's default (16 KiB). With 256 KiB batches the embedded broker
        # (tansu 0.6.0, memory engine) acknowledged the last large batch of a partition yet never
        # served it, most runs; at 16 KiB, 20 of 20 runs were whole. Throughput cost: ~7%.
        settings: dict[str, Any] = {
            "acks": "all",
            "linger_ms": 5,
            "retries": 5,
            "max_in_flight_requests_per_connection": 1,
        }
        settings.update(config)
        try:
            self._producer = KafkaProducer(
                bootstrap_servers=bootstrap_servers, client_id=client_id, **settings
            )
        except (KafkaError, OSError) as exc:
            raise BrokerError(f"cannot reach Kafka at {bootstrap_servers}: {exc!r}") from exc
        self._lock = threading.Lock()
        self._error: BaseException | None = None
        self._failures = 0
        # key -> partition per topic, as kafka-python's default partitioner picks it (murmur2 of
        # the key over all partitions); its pure-Python murmur2 cost ~20% of every send.
        self._partition_of: dict[str, dict[bytes, int]] = {}
        self._counts: dict[str, int] = {}

    def _on_error(self, exc: BaseException) -> None:
        with self._lock:
            self._failures += 1
            self._error = self._error or exc

    def send(
        self, topic: str, key: bytes | None, value: bytes, partition: int | None = None
    ) -> None:
        try:
            if partition is None and key is not None:
                partition = self._partition(topic, key)
            future = self._producer.send(topic, key=key, value=value, partition=partition)
        except KafkaError as exc:
            raise BrokerError(f"send to {topic!r} failed: {exc!r}") from exc
        future.add_errback(self._on_error)

    def _partition(self, topic: str, key: bytes) -> int:
        known = self._partition_of.get(topic)
        if known is None:
            known = self._partition_of[topic] = {}
            self._counts[topic] = len(self._producer.partitions_for(topic))
        partition = known.get(key)
        if partition is None:
            if len(known) >= 100_000:
                known.clear()
            partition = known[key] = (murmur2(key) & 0x7FFFFFFF) % self._counts[topic]
        return partition

    def flush(self, timeout_s: float = 30.0) -> None:
        try:
            self._producer.flush(timeout=timeout_s)
            grown = [
                t for t, n in self._counts.items() if len(self._producer.partitions_for(t)) != n
            ]
        except KafkaError as exc:
            raise BrokerError(f"flush did not complete within {timeout_s} s: {exc!r}") from exc
        for topic in grown:  # a topic that grew re-partitions its keys, as the partitioner would
            del self._partition_of[topic], self._counts[topic]
        with self._lock:
            error, failures, self._error, self._failures = self._error, self._failures, None, 0
        if error is not None:
            raise BrokerError(f"{failures} message(s) were not acknowledged: {error!r}")

    def close(self) -> None:
        self._producer.close(timeout=10)


#: Commit errors that mean "the group moved on", not "the broker is broken".
_REBALANCING = (
    kafka_errors.CommitFailedError,
    kafka_errors.RebalanceInProgressError,
    kafka_errors.IllegalGenerationError,
    kafka_errors.UnknownMemberIdError,
)


class KafkaSource:
    """A `MessageSource`: one consumer-group member; offsets are committed only by `commit`."""

    def __init__(
        self,
        bootstrap_servers: str,
        topics: Sequence[str],
        group_id: str,
        client_id: str = "edgewatch",
        **config: Any,
    ) -> None:
        settings: dict[str, Any] = {
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",
            "max_poll_interval_ms": 10_000,
            "session_timeout_ms": 10_000,
            "heartbeat_interval_ms": 1_000,
        }
        settings.update(config)
        try:
            self._consumer = KafkaConsumer(
                *topics,
                bootstrap_servers=bootstrap_servers,
                group_id=group_id,
                client_id=client_id,
                **settings,
            )
        except (KafkaError, OSError) as exc:
            raise BrokerError(f"cannot reach Kafka at {bootstrap_servers}: {exc!r}") from exc
        self._next: dict[TopicPartition, int] = {}  # per partition, the offset after the last read

    def poll(self, timeout_ms: int, max_records: int) -> list[Message]:
        try:
            batches = self._consumer.poll(timeout_ms=timeout_ms, max_records=max_records)
        except KafkaError as exc:
            raise BrokerError(f"poll failed: {exc!r}") from exc
        out: list[Message] = []
        for tp, records in batches.items():
            out.extend(records)
            if records:
                self._next[(tp.topic, tp.partition)] = records[-1].offset + 1
        return out

    def commit(self, offsets: Offsets) -> None:
        if not offsets:
            return
        payload = {
            KafkaTopicPartition(topic, partition): OffsetAndMetadata(offset, "", -1)
            for (topic, partition), offset in offsets.items()
        }
        try:
            self._consumer.commit(payload)
        except _REBALANCING as exc:
            raise CommitRejectedError(f"offset commit refused: {exc!r}") from exc
        except KafkaError as exc:
            raise BrokerError(f"offset commit failed: {exc!r}") from exc

    def assignment(self) -> set[TopicPartition]:
        return {(tp.topic, tp.partition) for tp in self._consumer.assignment()}

    def committed(self, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, int | None]:
        try:
            return {
                (t, p): self._consumer.committed(KafkaTopicPartition(t, p)) for t, p in partitions
            }
        except KafkaError as exc:
            raise BrokerError(f"reading committed offsets failed: {exc!r}") from exc

    def lag(self) -> int | None:
        """Messages behind the partition ends the last fetches saw, over the assigned partitions
        this member has read from (None before that). No round trip: cheap on every batch."""
        ends = {}
        for tp in self._consumer.assignment():
            high = self._consumer.highwater(tp)
            if high is not None:
                ends[(tp.topic, tp.partition)] = high
        return behind(ends, self._next)

    def close(self) -> None:
        self._consumer.close(autocommit=False)


_TAIL_POLLS = 5


def read_topic(
    bootstrap_servers: str,
    topic: str,
    timeout_s: float = 30.0,
    partitions: Iterable[int] | None = None,
) -> list[Message]:
    """Every message of ``topic`` (of ``partitions`` only, if given) up to its current end, in
    offset order per partition, without joining a group. The end is where polls come back empty,
    past the end offsets the broker reports (those may fall short)."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap_servers, enable_auto_commit=False, group_id=None
    )
    try:
        exist = consumer.partitions_for_topic(topic) or set()
        wanted = exist if partitions is None else exist & set(partitions)
        assigned = [KafkaTopicPartition(topic, p) for p in sorted(wanted)]
        if not assigned:
            return []  # the topic does not exist (yet)
        consumer.assign(assigned)
        consumer.seek_to_beginning(*assigned)
        ends = consumer.end_offsets(assigned)
        # Track what poll() returned: position() runs ahead while fetched records are buffered.
        pending = {tp.partition: int(ends[tp]) for tp in assigned}
        pending = {p: end for p, end in pending.items() if end > 0}
        out: list[Message] = []
        deadline = time.monotonic() + timeout_s
        while pending:
            if time.monotonic() > deadline:
                raise BrokerError(f"reading {topic!r} did not reach its end in {timeout_s} s")
            for records in consumer.poll(timeout_ms=200).values():
                out.extend(records)
                last = records[-1]
                if last.offset + 1 >= pending.get(last.partition, 0):
                    pending.pop(last.partition, None)
        # Past the end offsets until a poll comes back empty (a few polls at most): a broker may
        # report an end offset short of what it serves (tansu 0.6.0 left off the last batch).
        for _ in range(_TAIL_POLLS):
            batches = consumer.poll(timeout_ms=200)
            if not batches:
                break
            for records in batches.values():
                out.extend(records)
        return out
    except KafkaError as exc:
        raise BrokerError(f"cannot read {topic!r}: {exc!r}") from exc
    finally:
        consumer.close()
