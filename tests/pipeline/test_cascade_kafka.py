"""The cascade behind a member on the real embedded broker: parity with the offline evaluation,
and bad input interleaved with good."""

from __future__ import annotations

import random
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import SecretStr

from edgewatch.models.artifacts import load_model, shipped_card
from edgewatch.operators import Confusion
from edgewatch.pipeline.app import build_cascade, ensure_member_topics, open_member
from edgewatch.pipeline.kafka.broker import EmbeddedBroker
from edgewatch.pipeline.kafka.kafka_python import KafkaSink, read_topic
from edgewatch.pipeline.member import Member
from edgewatch.pipeline.settings import KafkaSettings, Settings, WebhookSettings
from edgewatch.producers.simulated import FleetSpec, simulate_fleet
from edgewatch.records import SensorRecord, encode_record

pytestmark = pytest.mark.integration


def _settings(bootstrap: str, partitions: int, **detector: Any) -> Settings:
    run = uuid.uuid4().hex[:8]
    kafka = {
        "bootstrap_servers": bootstrap,
        "partitions": partitions,
        **{f"{t}_topic": f"{t}-{run}" for t in ("input", "detections", "dlq", "incidents")},
        "group_id": f"g-{run}",
    }
    return Settings.load(kafka=kafka, detector=detector, emit="all")


def _send(bootstrap: str, topic: str, messages: list[tuple[bytes, bytes]]) -> None:
    sink = KafkaSink(bootstrap)
    try:
        for key, value in messages:
            sink.send(topic, key, value)
        sink.flush()
    finally:
        sink.close()


def _fill(bootstrap: str, k: KafkaSettings, records: list[SensorRecord]) -> None:
    """The member's topics, and ``records`` in the input topic keyed by asset."""
    ensure_member_topics(bootstrap, k)
    _send(bootstrap, k.input_topic, [(r.asset.encode(), encode_record(r)) for r in records])


def _drain(member: Member, expected: int, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while member.consumed < expected and time.monotonic() < deadline:
        member.step(200, 2_000)
    assert member.consumed == expected


def test_test_split_through_kafka_matches_the_offline_evaluation(broker: EmbeddedBroker) -> None:
    settings = _settings(broker.bootstrap_servers, partitions=3, gate="off")  # as offline
    k = settings.kafka
    records = list(simulate_fleet().records(split="test"))
    _fill(broker.bootstrap_servers, k, records)
    with open_member(settings, broker.bootstrap_servers) as member:
        _drain(member, len(records))
    out = [
        orjson.loads(m.value or b"")
        for m in read_topic(broker.bootstrap_servers, k.detections_topic)
    ]
    assert len(out) + member.warmup == len(records)
    confusion = Confusion(
        tp=sum(d["decision"] and d["label"] for d in out),
        fp=sum(d["decision"] and not d["label"] for d in out),
        fn=sum(not d["decision"] and d["label"] for d in out),
    )
    offline = load_model(shipped_card("simulated")).card["metrics"]["test_int8"]["f1"]
    assert abs(confusion.f1 - offline) <= 0.002, (confusion.f1, offline)


def _bad_messages(valid: list[SensorRecord], rng: random.Random) -> list[tuple[bytes, bytes, str]]:
    """1,000 malformed messages (key, value, expected DLQ reason), of every kind."""
    r0 = valid[0]
    key, raw = r0.asset.encode(), encode_record(r0)
    good = orjson.loads(raw)
    number = f'"value":{r0.values["value"]!r}'.encode()
    kinds: list[tuple[bytes, bytes, str]] = [
        (key, b"\xff\xfe" + rng.randbytes(64), "not_json"),
        (key, b"[1, 2, 3]", "not_object"),
        (key, orjson.dumps({**good, "ts": "yesterday"}), "wrong_type"),
        (key, orjson.dumps({**good, "values": {"value": "high"}}), "wrong_type"),
        (key, raw.replace(number, b'"value":NaN'), "not_json"),  # JSON has no NaN or inf
        (key, raw.replace(number, b'"value":1e400'), "not_json"),
        (key, orjson.dumps({k: v for k, v in good.items() if k != "seq"}), "missing_field"),
        (key, orjson.dumps({**good, "extra": 1}), "unknown_field"),
        (key, b'{"pad": "' + b"a" * 70_000 + b'"}', "too_large"),
        (b"someone-else", raw, "bad_key"),
    ]
    return [kinds[i % len(kinds)] for i in range(1_000)]


def test_bad_input_goes_to_the_dlq_and_leaves_good_decisions_unchanged(
    broker: EmbeddedBroker,
) -> None:
    rng = random.Random(7)
    valid = list(simulate_fleet(FleetSpec(assets=3, points=3_000)).records())
    # 100 stale copies right after a record: of itself (repeated seq) or of the asset's previous
    # record (out of order; assets are interleaved, so that is 3 back)
    stale = {
        i: valid[i - 3 * (n % 2)] for n, i in enumerate(rng.sample(range(10, len(valid)), 100))
    }
    stream: list[tuple[bytes, bytes, str | None]] = []
    for i, record in enumerate(valid):
        stream.append((record.asset.encode(), encode_record(record), None))
        if i in stale:
            reason = "repeated_seq" if stale[i] is record else "out_of_order"
            stream.append((record.asset.encode(), encode_record(stale[i]), reason))
    for key, value, reason in _bad_messages(valid, rng):
        stream.insert(rng.randrange(1, len(stream)), (key, value, reason))
    settings = _settings(broker.bootstrap_servers, partitions=1, batch_size=1)
    k = settings.kafka
    ensure_member_topics(broker.bootstrap_servers, k)
    _send(broker.bootstrap_servers, k.input_topic, [(key, value) for key, value, _ in stream])
    with open_member(settings, broker.bootstrap_servers) as member:
        _drain(member, len(stream))
    dlq = [orjson.loads(m.value or b"") for m in read_topic(broker.bootstrap_servers, k.dlq_topic)]
    expected = [reason for _, _, reason in stream if reason is not None]
    assert len(expected) == 1_100
    assert [d["reason"] for d in dlq] == expected  # one partition: in order
    assert member.invalid == 1_100

    model = load_model(shipped_card("simulated"))
    clean = build_cascade(settings.detector, model).process(valid)  # the same (default) gate
    want = {(s.record.asset, s.record.seq): (s.decision, s.score) for s in clean}
    out = [
        orjson.loads(m.value or b"")
        for m in read_topic(broker.bootstrap_servers, k.detections_topic)
    ]
    assert {(d["asset"], d["seq"]): (d["decision"], d["score"]) for d in out} == want


def test_incident_events_reach_the_topic_and_the_webhook_receiver(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    from edgewatch.pipeline.alerts.receiver import Receiver

    with Receiver(b"k3y-of-16-chars-or-more") as receiver:
        settings = _settings(broker.bootstrap_servers, partitions=2).model_copy(
            update={
                "webhooks": WebhookSettings(
                    urls=(receiver.url,),
                    secret=SecretStr("k3y-of-16-chars-or-more"),
                    outbox=tmp_path / "o.sqlite",
                )
            }
        )
        k = settings.kafka
        records = list(simulate_fleet(FleetSpec(assets=3, points=3_000)).records())
        _fill(broker.bootstrap_servers, k, records)
        with open_member(settings, broker.bootstrap_servers) as member:
            _drain(member, len(records))
            deadline = time.monotonic() + 30
            pending = "edgewatch_webhook_outbox_pending"
            while member.metrics.registry.get_sample_value(pending) and time.monotonic() < deadline:
                time.sleep(0.1)
    topic = [
        orjson.loads(m.value or b"")
        for m in read_topic(broker.bootstrap_servers, k.incidents_topic)
    ]
    assert member.incidents_opened >= 1
    assert sorted(e["event_id"] for e in receiver.events) == sorted(e["event_id"] for e in topic)
