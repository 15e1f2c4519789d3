"""`edgewatch run --members N` as a user runs it: a real supervisor process, its member
processes, a real broker and real signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from edgewatch.errors import EdgewatchError
from edgewatch.pipeline.kafka.broker import EmbeddedBroker
from edgewatch.pipeline.kafka.confluent import ConfluentSink
from edgewatch.pipeline.kafka.kafka_python import ensure_topics, read_topic
from edgewatch.pipeline.settings import Settings
from edgewatch.pipeline.supervisor import Supervisor, member_count
from edgewatch.producers.replay import replay
from edgewatch.producers.simulated import FleetSpec, simulate_fleet

EDGEWATCH = str(Path(sys.executable).with_name("edgewatch"))
ENV = {**os.environ, "COLUMNS": "200"}
SEQ_LEN = 10  # the shipped simulated model's window


def test_member_count_is_one_per_core_at_most_one_per_partition() -> None:
    cores = os.cpu_count() or 1
    assert member_count(None, 1) == 1
    assert member_count(None, 10_000) == cores
    assert member_count(3, 1) == 3  # asked for: idle members wait for partitions
    assert member_count(None, 0) == 1


def test_a_member_that_keeps_dying_at_start_makes_the_supervisor_give_up(tmp_path: Path) -> None:
    settings = Settings.load(
        kafka={"bootstrap_servers": "127.0.0.1:1"},
        detector={"model": tmp_path / "missing.json"},
        metrics_port=0,
    )
    supervisor = Supervisor(settings, 1, until_idle_s=None)
    with pytest.raises(
        EdgewatchError, match=r"member 0 died 5 times .*exit codes \[2, 2, 2, 2, 2\]"
    ):
        supervisor.run(threading.Event(), tick_s=0.05)
    assert supervisor.restarts == 4


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in found.split()]


def _start(
    bootstrap: str, run: str, tmp: Path, *extra: str, env: dict[str, str] = ENV
) -> subprocess.Popen[str]:
    args = [EDGEWATCH, "run", "-b", bootstrap, "--input-topic", f"in-{run}", "--members", "2"]
    args += ["--detections-topic", f"det-{run}", "--dlq-topic", f"dlq-{run}"]
    args += ["--incidents-topic", f"inc-{run}", "--group-id", f"g-{run}", "--emit", "all"]
    args += ["--metrics-port", "0", "--out", str(tmp / "out.jsonl"), *extra]
    return subprocess.Popen(args, stderr=(tmp / "run.log").open("w"), text=True, env=env)


def _wait(predicate: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return False


@pytest.mark.integration
def test_a_killed_member_is_restarted_and_counted_and_nothing_is_lost(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    run, bootstrap = uuid.uuid4().hex[:8], broker.bootstrap_servers
    ensure_topics(bootstrap, {f"in-{run}": 4})
    records = list(simulate_fleet(FleetSpec(assets=8, points=4_000)).records())
    sink = ConfluentSink(bootstrap)
    replay(records, sink, f"in-{run}")
    sink.close()
    out = tmp_path / "out.jsonl"
    # The state of the killed member's assets moves with their partitions through the changelog;
    # without one, their first SEQ_LEN - 1 windows after the move would be warm-up (see
    # test_scale_out). Small batches, each committed, make the kill land just after a commit:
    # the case where a state rebuilt from the stream would leave that gap.
    extra = ("--changelog-topic", f"chg-{run}", "--until-idle", "5")
    every_batch = {
        "EDGEWATCH_KAFKA__MAX_POLL_RECORDS": "200",
        "EDGEWATCH_KAFKA__COMMIT_INTERVAL_MS": "0",
    }
    proc = _start(bootstrap, run, tmp_path, *extra, env={**ENV, **every_batch})
    try:
        assert _wait(lambda: len(_children(proc.pid)) == 2, 60), "the members did not start"
        assert _wait(lambda: out.is_file() and out.stat().st_size > 0, 90), "no output"
        victim = _children(proc.pid)[0]
        os.kill(victim, signal.SIGKILL)
        assert _wait(lambda: victim not in _children(proc.pid), 10)
        assert _wait(lambda: len(_children(proc.pid)) == 2, 30), "the dead member was not restarted"
        proc.wait(timeout=300)  # both idle: the supervisor exits by itself
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=90)
    log = (tmp_path / "run.log").read_text()
    assert proc.returncode == 0, log[-3_000:]
    assert "died (signal SIGKILL); restart 1" in log
    assert "all 2 members stopped; restarts: 1" in log
    assert "Traceback" not in log
    got = {(d["asset"], d["seq"]) for d in _lines(out) if "event_id" not in d}
    topic = {(d["asset"], d["seq"]) for d in map(_decode, read_topic(bootstrap, f"det-{run}"))}
    # at least once: every window, though the killed member's uncommitted ones may come twice
    expected = {(r.asset, r.seq) for r in records if r.seq >= SEQ_LEN - 1}
    assert expected <= topic
    assert expected <= got  # the members shared the file without splitting a line


@pytest.mark.integration
@pytest.mark.parametrize("how", ["sigterm", "supervisor-killed"])
def test_the_members_stop_with_their_supervisor(
    broker: EmbeddedBroker, tmp_path: Path, how: str
) -> None:
    run, bootstrap = uuid.uuid4().hex[:8], broker.bootstrap_servers
    ensure_topics(bootstrap, {f"in-{run}": 2})
    proc = _start(bootstrap, run, tmp_path)
    log = tmp_path / "run.log"
    try:
        assert _wait(lambda: log.read_text().count("metrics: http://") == 2, 90), log.read_text()
        members = _children(proc.pid)
        assert len(members) == 2
    finally:
        proc.send_signal(signal.SIGTERM if how == "sigterm" else signal.SIGKILL)
        proc.wait(timeout=90)
    assert _wait(lambda: not any(_alive(pid) for pid in members), 30), "members outlived it"
    text = log.read_text()
    assert text.count("stopped: 0 records") == 2, text[-3_000:]
    if how == "sigterm":
        assert proc.returncode == 0, text[-3_000:]
        assert "all 2 members stopped; restarts: 0" in text
    assert "Traceback" not in text


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"  # a zombie has stopped


def _decode(message: Any) -> dict[str, Any]:
    return dict(orjson.loads(message.value or b""))


def _lines(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]
