"""The whole path on the real embedded broker over TCP: replay -> Kafka -> member -> Kafka."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import orjson
import pytest

from edgewatch.pipeline.app import ensure_member_topics, open_member
from edgewatch.pipeline.kafka.broker import EmbeddedBroker
from edgewatch.pipeline.kafka.kafka_python import KafkaSink, read_topic
from edgewatch.pipeline.settings import Settings
from edgewatch.producers.replay import replay
from edgewatch.producers.simulated import FleetSpec, simulate_fleet

pytestmark = pytest.mark.integration


def _settings(bootstrap: str) -> Settings:
    run = uuid.uuid4().hex[:8]
    kafka = {
        "bootstrap_servers": bootstrap,
        "input_topic": f"in-{run}",
        "detections_topic": f"det-{run}",
        "dlq_topic": f"dlq-{run}",
        "incidents_topic": f"inc-{run}",
        "group_id": f"g-{run}",
        "partitions": 3,
    }
    return Settings.load(kafka=kafka, emit="all")


def test_every_record_is_consumed_exactly_once(broker: EmbeddedBroker) -> None:
    settings = _settings(broker.bootstrap_servers)
    k = settings.kafka
    ensure_member_topics(broker.bootstrap_servers, k)
    records = list(simulate_fleet(FleetSpec(assets=4, points=3_000)).records(limit=8_000))
    sink = KafkaSink(broker.bootstrap_servers)
    try:
        assert replay(records, sink, k.input_topic).sent == len(records)
    finally:
        sink.close()

    with open_member(settings, broker.bootstrap_servers) as member:
        deadline = time.monotonic() + 60
        while member.consumed < len(records) and time.monotonic() < deadline:
            member.step(k.poll_timeout_ms, k.max_poll_records)
        for _ in range(5):  # nothing more arrives: no record was delivered twice
            assert member.step(100) == 0
    assert member.consumed == len(records)
    assert member.invalid == 0

    out = [
        orjson.loads(m.value or b"")
        for m in read_topic(broker.bootstrap_servers, k.detections_topic)
    ]
    pairs = [(d["asset"], d["seq"]) for d in out]
    warm = {(r.asset, r.seq) for r in records if r.seq < 9}  # seq_len 10: no window yet
    assert member.warmup == len(warm)
    assert len(pairs) + len(warm) == len(records)  # one detection per window, none twice
    assert set(pairs) | warm == {(r.asset, r.seq) for r in records}
    assert len({d["id"] for d in out}) == len(pairs)
    assert read_topic(broker.bootstrap_servers, k.dlq_topic) == []


def _in_session(sid: int) -> list[str]:
    """Command lines of the live processes in session ``sid``."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                stat = (proc / "stat").read_text()
                fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
                if int(fields[3]) == sid and fields[0] != "Z":
                    found.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode())
            except (OSError, ValueError):
                continue
    return found


def test_demo_command_end_to_end_leaves_nothing_behind() -> None:
    edgewatch = Path(sys.executable).with_name("edgewatch")
    demo = subprocess.Popen(
        [str(edgewatch), "demo", "--records", "3000", "--rate", "0", "--timeout", "90"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "120"},
        start_new_session=True,  # its children (the broker) share the session id = its pid
    )
    stdout, stderr = demo.communicate(timeout=150)
    assert demo.returncode == 0, stderr
    for line in (
        "records in",
        "3,000 of 3,000",
        "precision / recall / F1",
        "p50 / p99",
        "throughput",
    ):
        assert line in stdout
    time.sleep(0.5)
    assert _in_session(demo.pid) == [], "the demo left a process running"
