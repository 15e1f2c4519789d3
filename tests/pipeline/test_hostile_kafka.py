"""Single messages that once stopped a member, on the real embedded broker: each must go to the
DLQ (or be absorbed) while every valid record around it is processed."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import orjson
import pytest

from edgewatch.pipeline.app import ensure_member_topics, open_member
from edgewatch.pipeline.kafka.broker import EmbeddedBroker
from edgewatch.pipeline.kafka.kafka_python import KafkaSink, read_topic
from edgewatch.pipeline.settings import Settings
from edgewatch.producers.simulated import FleetSpec, simulate_fleet
from edgewatch.records import encode_record

pytestmark = pytest.mark.integration


def _settings(bootstrap: str, **detector: Any) -> Settings:
    run = uuid.uuid4().hex[:8]
    kafka = {
        "bootstrap_servers": bootstrap,
        "partitions": 1,
        **{f"{t}_topic": f"{t}-{run}" for t in ("input", "detections", "dlq", "incidents")},
        "group_id": f"g-{run}",
    }
    return Settings.load(kafka=kafka, detector=detector, emit="all")


def test_a_message_near_the_broker_limit_goes_to_the_dlq_and_the_partition_goes_on(
    broker: EmbeddedBroker,
) -> None:
    settings = _settings(broker.bootstrap_servers)
    k = settings.kafka
    ensure_member_topics(broker.bootstrap_servers, k)
    records = list(simulate_fleet(FleetSpec(assets=1, points=3_000)).records(limit=400))
    huge = b'{"pad": "' + b"a" * 900_000 + b'"}'  # base64 of it alone is over 1 MiB
    sink = KafkaSink(broker.bootstrap_servers)
    try:
        for i, r in enumerate(records):
            if i == 200:
                sink.send(k.input_topic, r.asset.encode(), huge)
            sink.send(k.input_topic, r.asset.encode(), encode_record(r))
        sink.flush()
    finally:
        sink.close()
    with open_member(settings, broker.bootstrap_servers) as member:
        for _ in range(200):
            member.step(200, 2_000)
            if member.consumed >= len(records) + 1:
                break
    assert member.consumed == len(records) + 1
    (dead,) = read_topic(broker.bootstrap_servers, k.dlq_topic)
    letter = orjson.loads(dead.value or b"")
    assert (letter["reason"], letter["size"], letter["truncated"]) == ("too_large", len(huge), True)
    assert (
        base64.b64decode(letter["value_b64"]) == huge[: len(base64.b64decode(letter["value_b64"]))]
    )
    seqs = sorted(
        orjson.loads(m.value or b"")["seq"]
        for m in read_topic(broker.bootstrap_servers, k.detections_topic)
    )
    assert seqs == list(range(9, len(records)))
