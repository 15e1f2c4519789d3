"""The confluent-kafka transport against the embedded broker (real TCP)."""

from __future__ import annotations

import builtins
import time
import uuid
from typing import Any

import orjson
import pytest
from kafka.partitioner.default import murmur2

from edgewatch.errors import BrokerError, DependencyMissingError
from edgewatch.pipeline.app import ensure_member_topics, open_member
from edgewatch.pipeline.kafka.broker import EmbeddedBroker
from edgewatch.pipeline.kafka.confluent import SERVE_EVERY, ConfluentSink, ConfluentSource
from edgewatch.pipeline.kafka.kafka_python import KafkaSink, read_topic
from edgewatch.pipeline.settings import Settings
from edgewatch.producers.simulated import FleetSpec, simulate_fleet
from edgewatch.records import encode_record

pytestmark = pytest.mark.integration


def test_missing_library_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_confluent(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "confluent_kafka":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_confluent)
    with pytest.raises(DependencyMissingError, match="pip install confluent-kafka"):
        ConfluentSink("127.0.0.1:9")


def test_keys_land_where_kafka_python_puts_them_and_commits_resume(
    broker: EmbeddedBroker,
) -> None:
    pytest.importorskip("confluent_kafka")
    bootstrap, topic, group = broker.bootstrap_servers, f"c-{uuid.uuid4().hex[:8]}", "g"
    ensure_member_topics(bootstrap, Settings.load(kafka={"input_topic": topic}).kafka)
    sink = ConfluentSink(bootstrap)
    try:
        for i in range(300):
            sink.send(topic, f"asset-{i % 30}".encode(), str(i).encode())
        sink.flush()
    finally:
        sink.close()
    stored = read_topic(bootstrap, topic)
    assert len(stored) == 300
    assert all(m.partition == (murmur2(m.key or b"") & 0x7FFFFFFF) % 6 for m in stored)

    def consume(limit: int, before: int) -> list[int]:
        source = ConfluentSource(bootstrap, [topic], group)
        got: list[int] = []
        try:
            deadline = time.monotonic() + 30
            while len(got) < limit and time.monotonic() < deadline:
                batch = source.poll(200, limit - len(got))
                got += [int(m.value or b"") for m in batch]
                offsets: dict[tuple[str, int], int] = {}
                for m in batch:
                    offsets[(m.topic, m.partition)] = m.offset + 1
                source.commit(offsets)
            lag = source.lag()  # over the partitions read from, what they have left
            assert lag is not None
            assert 0 <= lag <= 300 - before - len(got)
        finally:
            source.close()
        return got

    first = consume(120, 0)
    rest = consume(300 - len(first), len(first))
    assert sorted(first + rest) == list(range(300))  # committed offsets were honoured


@pytest.mark.parametrize("client", ["confluent", "kafka-python"])
def test_a_member_on_either_client(broker: EmbeddedBroker, client: str) -> None:
    """Either client runs a member alike."""
    pytest.importorskip("confluent_kafka")
    run = uuid.uuid4().hex[:8]
    kafka = {
        "client": client,
        "input_topic": f"in-{run}",
        "detections_topic": f"det-{run}",
        "dlq_topic": f"dlq-{run}",
        "incidents_topic": f"inc-{run}",
        "group_id": f"g-{run}",
    }
    settings = Settings.load(kafka=kafka, emit="all")
    k = settings.kafka
    ensure_member_topics(broker.bootstrap_servers, k)
    records = list(simulate_fleet(FleetSpec(assets=3, points=3_000)).records(limit=3_000))
    sink = KafkaSink(broker.bootstrap_servers)  # written by kafka-python, read by either
    try:
        for r in records:
            sink.send(k.input_topic, r.asset.encode(), encode_record(r))
        sink.send(k.input_topic, b"x", b"not json")
        sink.flush()
    finally:
        sink.close()
    with open_member(settings, broker.bootstrap_servers) as member:
        deadline = time.monotonic() + 60
        while member.consumed < len(records) + 1 and time.monotonic() < deadline:
            member.step(k.poll_timeout_ms, k.max_poll_records)
        member.step(k.poll_timeout_ms, k.max_poll_records)  # idle: the lag gauge is current
        assert member.source.lag() == 0
    assert member.metrics.registry.get_sample_value("edgewatch_consumer_lag_messages") == 0
    assert (member.consumed, member.invalid) == (len(records) + 1, 1)
    detections = read_topic(broker.bootstrap_servers, k.detections_topic)
    assert len(detections) == member.windows == len(records) - member.warmup
    seqs = {(d["asset"], d["seq"]) for d in (orjson.loads(m.value or b"") for m in detections)}
    assert len(seqs) == len(detections)
    (dead,) = read_topic(broker.bootstrap_servers, k.dlq_topic)
    assert orjson.loads(dead.value or b"")["reason"] == "not_json"


def test_a_message_the_broker_does_not_take_fails_the_flush(broker: EmbeddedBroker) -> None:
    """Only failures report back (delivery.report.only.error): one still fails the flush."""
    pytest.importorskip("confluent_kafka")
    bootstrap, topic = broker.bootstrap_servers, f"c-{uuid.uuid4().hex[:8]}"
    ensure_member_topics(bootstrap, Settings.load(kafka={"input_topic": topic}).kafka)
    sink = ConfluentSink(bootstrap)
    try:
        sink.send(topic, b"a", b"fine")
        sink.send(topic, b"a", b"nowhere", partition=99)  # the topic has 6
        with pytest.raises(BrokerError, match="1 message\\(s\\) were not acknowledged"):
            sink.flush()
        sink.send(topic, b"a", b"fine again")
        sink.flush()  # the failure was reported once
    finally:
        sink.close()
    assert sorted(m.value for m in read_topic(bootstrap, topic)) == [b"fine", b"fine again"]


def test_a_sender_that_never_flushes_serves_its_delivery_reports(broker: EmbeddedBroker) -> None:
    """librdkafka counts a sent message in its queue until its report is served: a replay that
    sent 100,000 messages without a flush stalled on the full queue."""
    pytest.importorskip("confluent_kafka")
    sink = ConfluentSink(broker.bootstrap_servers)
    served: list[float] = []

    class Producer:
        def produce(self, *_: Any, **__: Any) -> None:
            pass

        def poll(self, timeout: float) -> int:
            served.append(timeout)
            return 0

    real, sink._producer = sink._producer, Producer()
    try:
        for _ in range(3 * SERVE_EVERY):
            sink.send("t", b"k", b"v")
    finally:
        sink._producer = real
        sink.close()
    assert served == [0, 0, 0]
