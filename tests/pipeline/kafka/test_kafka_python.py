"""The Kafka transport against the embedded broker (real TCP)."""

from __future__ import annotations

import uuid

from kafka.partitioner.default import murmur2

from edgewatch.pipeline.kafka.broker import EmbeddedBroker
from edgewatch.pipeline.kafka.kafka_python import KafkaSink, ensure_topics, read_topic


def test_sink_keeps_each_key_on_the_default_partitioners_partition(broker: EmbeddedBroker) -> None:
    topic = f"keys-{uuid.uuid4().hex[:8]}"
    ensure_topics(broker.bootstrap_servers, {topic: 6})
    keys = [f"asset-{i}".encode() for i in range(40)]
    sink = KafkaSink(broker.bootstrap_servers)
    try:
        for round_ in range(3):  # the second and third rounds come from the sink's cache
            for key in keys:
                sink.send(topic, key, str(round_).encode())
            sink.flush()
    finally:
        sink.close()
    got = read_topic(broker.bootstrap_servers, topic)
    assert len(got) == 3 * len(keys)
    for m in got:  # Java's and kafka-python's default: murmur2(key) over all partitions
        assert m.key is not None
        assert m.partition == (murmur2(m.key) & 0x7FFFFFFF) % 6
