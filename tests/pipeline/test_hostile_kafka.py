"""Single messages that once stopped a member, on the real broker: each must go to the DLQ (or
be absorbed) while every valid record around it is processed."""

from __future__ import annotations

import base64

import orjson
import pytest

from edgewatch.detections import DLQ_VALUE_BYTES
from edgewatch.pipeline.app import ensure_member_topics, open_member
from edgewatch.pipeline.kafka.broker import EmbeddedBroker
from edgewatch.pipeline.kafka.kafka_python import read_topic
from edgewatch.producers.simulated import FleetSpec, simulate_fleet
from edgewatch.records import encode_record
from tests.pipeline.test_cascade_kafka import _drain, _send, _settings

pytestmark = pytest.mark.integration


def test_a_message_near_the_broker_limit_goes_to_the_dlq_and_the_partition_goes_on(
    broker: EmbeddedBroker,
) -> None:
    settings = _settings(broker.bootstrap_servers, partitions=1)
    k = settings.kafka
    ensure_member_topics(broker.bootstrap_servers, k)
    records = list(simulate_fleet(FleetSpec(assets=1, points=3_000)).records(limit=400))
    huge = b'{"pad": "' + b"a" * 900_000 + b'"}'  # base64 of it alone is over 1 MiB
    messages = [(r.asset.encode(), encode_record(r)) for r in records]
    messages.insert(200, (records[200].asset.encode(), huge))
    _send(broker.bootstrap_servers, k.input_topic, messages)
    with open_member(settings, broker.bootstrap_servers) as member:
        _drain(member, len(messages))
    (dead,) = read_topic(broker.bootstrap_servers, k.dlq_topic)
    letter = orjson.loads(dead.value or b"")
    assert (letter["reason"], letter["size"], letter["truncated"]) == ("too_large", len(huge), True)
    assert base64.b64decode(letter["value_b64"]) == huge[:DLQ_VALUE_BYTES]
    out = read_topic(broker.bootstrap_servers, k.detections_topic)
    seqs = sorted(orjson.loads(m.value or b"")["seq"] for m in out)
    assert seqs == list(range(9, len(records)))
