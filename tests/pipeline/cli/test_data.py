"""`edgewatch replay` as a user runs it, into the real embedded broker."""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from edgewatch.pipeline.kafka.broker import EmbeddedBroker
from edgewatch.pipeline.kafka.kafka_python import read_topic
from edgewatch.producers.cmapss import FD001
from edgewatch.records import decode_record

pytestmark = pytest.mark.integration
EDGEWATCH = str(Path(sys.executable).with_name("edgewatch"))


def _env(data: Path | None = None) -> dict[str, str]:
    env = {**os.environ, "COLUMNS": "120"}
    if data is not None:
        env["EDGEWATCH_DATA_DIR"] = str(data)
    return env


def _topic() -> str:
    return f"replay-{uuid.uuid4().hex[:8]}"


def test_fd001_read_back_identical(broker: EmbeddedBroker, shared_data: Path) -> None:
    topic = _topic()
    result = subprocess.run(
        [EDGEWATCH, "replay", "fd001", "--split", "test", "-b", broker.bootstrap_servers,
         "--topic", topic, "--partitions", "4"],
        capture_output=True, text=True, timeout=120, env=_env(shared_data),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "sent 13,096 records" in result.stderr
    messages = read_topic(broker.bootstrap_servers, topic)
    expected = list(FD001(shared_data / "cmapss", "test").records())
    assert len(messages) == len(expected)
    by_partition = sorted(messages, key=lambda m: (m.partition, m.offset))
    got = [decode_record(m.value or b"") for m in by_partition]
    assert sorted(got, key=lambda r: (r.asset, r.seq)) == sorted(
        expected, key=lambda r: (r.asset, r.seq)
    )
    assert all(m.key == decode_record(m.value or b"").asset.encode() for m in messages)
    for asset in {r.asset for r in expected}:  # per-asset order kept: one partition, in order
        mine = [
            (m.partition, decode_record(m.value or b"").seq)
            for m in by_partition
            if m.key == asset.encode()
        ]
        assert len({p for p, _ in mine}) == 1
        assert [s for _, s in mine] == sorted(s for _, s in mine)


def _rate_of(broker: EmbeddedBroker, topic: str) -> float:
    """The median of the whole seconds' counts, first and last second left out: a late start or
    a stall on a busy machine moves a few seconds, not the measure."""
    stamps = sorted(m.timestamp for m in read_topic(broker.bootstrap_servers, topic))
    seconds = [(ts - stamps[0]) // 1000 for ts in stamps]
    counts = [seconds.count(s) for s in range(1, seconds[-1])]
    return float(statistics.median(counts))


def _replay_at(broker: EmbeddedBroker, rate: int, seconds: int) -> float:
    topic = _topic()
    result = subprocess.run(
        [EDGEWATCH, "replay", "simulated", "-b", broker.bootstrap_servers, "--topic", topic,
         "--rate", str(rate), "--limit", str(rate * seconds)],
        capture_output=True, text=True, timeout=seconds * 3 + 60, env=_env(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return _rate_of(broker, topic)


@pytest.mark.slow
def test_rate_is_kept(broker: EmbeddedBroker) -> None:
    assert _replay_at(broker, 2_000, 6) == pytest.approx(2_000, rel=0.05)


@pytest.mark.slow
def test_rate_5000_sustained_for_30_seconds(broker: EmbeddedBroker) -> None:
    assert _replay_at(broker, 5_000, 30) == pytest.approx(5_000, rel=0.05)


def test_ctrl_c_flushes_and_reports_what_was_sent(broker: EmbeddedBroker) -> None:
    topic = _topic()
    proc = subprocess.Popen(
        [EDGEWATCH, "replay", "simulated", "-b", broker.bootstrap_servers, "--topic", topic,
         "--rate", "1000"],
        stderr=subprocess.PIPE, text=True, env=_env(),
    )  # fmt: skip
    time.sleep(4)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    line = next(line for line in stderr.splitlines() if "interrupted after sending" in line)
    sent = int(line.split("sending ")[1].split(" records")[0].replace(",", ""))
    assert sent > 0
    assert len(read_topic(broker.bootstrap_servers, topic)) == sent
