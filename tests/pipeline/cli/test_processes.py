"""The long-running commands as a user runs them: real processes, real broker, real signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import orjson
import pytest

from edgewatch.pipeline.kafka.broker import EmbeddedBroker
from edgewatch.pipeline.kafka.confluent import ConfluentSink
from edgewatch.pipeline.kafka.kafka_python import ensure_topics, read_topic, wait_ready
from edgewatch.producers.replay import replay
from edgewatch.producers.simulated import FleetSpec, simulate_fleet
from edgewatch.records import SensorRecord

pytestmark = pytest.mark.integration
EDGEWATCH = str(Path(sys.executable).with_name("edgewatch"))
ENV = {**os.environ, "COLUMNS": "120"}


def test_broker_command_prints_its_address_and_stops_on_sigterm() -> None:
    proc = subprocess.Popen(
        [EDGEWATCH, "broker"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("bootstrap servers: 127.0.0.1:")
        wait_ready(line.split()[-1], timeout_s=5)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0


def test_run_command_processes_then_stops_cleanly_on_sigterm(broker: EmbeddedBroker) -> None:
    run = uuid.uuid4().hex[:8]
    topics = {"input": f"in-{run}", "detections": f"det-{run}", "dlq": f"dlq-{run}"}
    bootstrap = broker.bootstrap_servers
    ensure_topics(bootstrap, {topics["input"]: 2})
    records = list(simulate_fleet(FleetSpec(assets=2, points=3_000)).records(limit=2_000))
    _fill(bootstrap, topics["input"], records)
    args = [EDGEWATCH, "run", "--members", "1", "-b", bootstrap, "--input-topic", topics["input"]]
    args += ["--detections-topic", topics["detections"], "--dlq-topic", topics["dlq"]]
    args += ["--group-id", f"g-{run}", "--emit", "all", "--metrics-port", "0"]
    windowed = sorted(r.seq for r in records if r.seq >= 9)  # seq_len 10: 9 warm-up records
    proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            time.sleep(1)
            if len(read_topic(bootstrap, topics["detections"])) >= len(windowed):
                break
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert "stopped: 2,000 records" in stderr
    assert "WARNING" not in stderr  # a requested stop is not a warning
    out = read_topic(bootstrap, topics["detections"])
    assert sorted(orjson.loads(m.value or b"")["seq"] for m in out) == windowed


def test_demo_runs_against_an_external_broker(broker: EmbeddedBroker) -> None:
    result = subprocess.run(
        [EDGEWATCH, "demo", "-b", broker.bootstrap_servers, "--records", "2000", "--rate", "0"],
        capture_output=True,
        text=True,
        timeout=120,
        env=ENV,
    )
    assert result.returncode == 0, result.stderr
    assert "2,000 of 2,000" in result.stdout
    assert f"broker {broker.bootstrap_servers}" in result.stderr


def _member(bootstrap: str, topics: dict[str, str], group: str) -> subprocess.Popen[str]:
    args = [EDGEWATCH, "run", "--members", "1", "-b", bootstrap, "--input-topic", topics["input"]]
    args += ["--detections-topic", topics["detections"], "--dlq-topic", topics["dlq"]]
    args += ["--group-id", group, "--emit", "all", "--metrics-port", "0", "--log-level", "INFO"]
    return subprocess.Popen(args, stderr=subprocess.PIPE, text=True, env=ENV)


def _fill(bootstrap: str, topic: str, records: list[SensorRecord]) -> None:
    sink = ConfluentSink(bootstrap)
    replay(records, sink, topic)
    sink.close()


def _stop(members: list[subprocess.Popen[str]], gap_s: float) -> list[str]:
    members[0].send_signal(signal.SIGTERM)
    time.sleep(gap_s)
    members[1].send_signal(signal.SIGTERM)
    return [m.communicate(timeout=60)[1] for m in members]


@pytest.mark.parametrize("gap_s", [0.0, 2.0], ids=["together", "two-seconds-apart"])
def test_two_members_stopped_together_or_apart_exit_cleanly_and_the_group_goes_on(
    broker: EmbeddedBroker, gap_s: float
) -> None:
    """The second stops while the group rebalances after the first, with work in hand: its last
    commit may be refused, and it must still exit 0 (the next owner re-reads those records).
    Then a new member of the same group must get the partitions and process new records."""
    run = uuid.uuid4().hex[:8]
    topics = {"input": f"in-{run}", "detections": f"det-{run}", "dlq": f"dlq-{run}"}
    bootstrap = broker.bootstrap_servers
    ensure_topics(bootstrap, {topics["input"]: 4})
    fleet = list(simulate_fleet(FleetSpec(assets=8, points=20_000)).records())
    first, later = fleet[:120_000], fleet[120_000:124_000]
    _fill(bootstrap, topics["input"], first)
    members = [_member(bootstrap, topics, f"g-{run}") for _ in range(2)]
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # both busy: each has written something
            time.sleep(0.5)
            if len(read_topic(bootstrap, topics["detections"], timeout_s=30)) > 2_000:
                break
        time.sleep(2)
    finally:
        errs = _stop(members, gap_s)
    assert [m.returncode for m in members] == [0, 0], errs
    assert not any("Traceback" in err for err in errs), errs
    if isinstance(broker, EmbeddedBroker):
        # tansu: after two leaves close together it can keep naming the departed leader, and a
        # newcomer's SyncGroup never completes (docs/architecture.md); the newcomer half is
        # proven on Apache Kafka (make test-kafka), where it must pass.
        return

    _fill(bootstrap, topics["input"], later)
    topics["detections"] = f"det2-{run}"  # the newcomer's own, so reading it stays short
    newcomer = _member(bootstrap, topics, f"g-{run}")
    try:
        # every new record, but the first seq_len - 1 of an asset whose state starts there
        wanted = {(r.asset, r.seq) for r in later if r.seq >= later[0].seq + 9}
        deadline = time.monotonic() + 60
        seen: set[tuple[str, int]] = set()
        while time.monotonic() < deadline and not wanted <= seen:
            time.sleep(2)
            out = read_topic(bootstrap, topics["detections"], timeout_s=30)
            seen = {(d["asset"], d["seq"]) for d in (orjson.loads(m.value or b"") for m in out)}
    finally:
        newcomer.send_signal(signal.SIGTERM)
        err = newcomer.communicate(timeout=60)[1]
    assert wanted <= seen, f"the new member processed {len(wanted & seen)} of {len(wanted)}: {err}"


def test_run_until_idle_exits_by_itself_and_writes_every_output_to_a_file(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:8]
    topics = {"input": f"in-{run}", "detections": f"det-{run}", "dlq": f"dlq-{run}"}
    bootstrap = broker.bootstrap_servers
    ensure_topics(bootstrap, {topics["input"]: 2})
    records = list(simulate_fleet(FleetSpec(assets=2, points=3_000)).records())
    _fill(bootstrap, topics["input"], records)
    out = tmp_path / "run.jsonl"

    def until_idle() -> subprocess.CompletedProcess[str]:
        args = [EDGEWATCH, "run", "--members", "1", "-b", bootstrap]
        args += ["--input-topic", topics["input"]]
        args += ["--detections-topic", topics["detections"], "--dlq-topic", topics["dlq"]]
        args += ["--incidents-topic", f"inc-{run}", "--group-id", f"g-{run}", "--emit", "all"]
        args += ["--metrics-port", "0", "--until-idle", "3", "--out", str(out)]
        return subprocess.run(args, capture_output=True, text=True, timeout=180, env=ENV)

    first = until_idle()
    assert first.returncode == 0, first.stderr
    lines = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    detections = [d for d in lines if "event_id" not in d]
    incidents = [e for e in lines if "event_id" in e]
    assert sorted((d["asset"], d["seq"]) for d in detections) == sorted(
        (r.asset, r.seq) for r in records if r.seq >= 9
    )
    assert incidents
    assert {e["event_id"] for e in incidents} == {
        orjson.loads(m.value or b"")["event_id"] for m in read_topic(bootstrap, f"inc-{run}")
    }
    again = until_idle()  # everything was committed: nothing is processed twice
    assert again.returncode == 0, again.stderr
    assert "stopped: 0 records" in again.stderr
    assert len(out.read_bytes().splitlines()) == len(lines)
