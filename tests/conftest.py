"""Shared fixtures. Integration fixtures start real servers on 127.0.0.1 only.

The Kafka integration tests run on the brokers named in ``EDGEWATCH_TEST_BROKERS`` (comma
separated; default ``embedded``): ``embedded`` is the bundled tansu, ``apache`` a real Apache
Kafka 3.6 (KRaft) from ``../shared/kafka``, skipped with a reason where it or java is absent.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from edgewatch.pipeline.kafka.broker import EmbeddedBroker

SHARED = Path(__file__).resolve().parents[2] / "shared"
APACHE_KAFKA = SHARED / "kafka" / "broker.sh"
BROKERS = [b.strip() for b in os.environ.get("EDGEWATCH_TEST_BROKERS", "embedded").split(",")]


@dataclass(frozen=True)
class ApacheKafka:
    bootstrap_servers: str


@contextmanager
def apache_kafka(folder: Path) -> Iterator[ApacheKafka]:
    """A real Apache Kafka broker (``../shared/kafka/broker.sh``) whose files live in ``folder``."""
    started = subprocess.run(
        ["bash", str(APACHE_KAFKA), "start", str(folder)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    if started.returncode != 0:
        raise RuntimeError(f"Apache Kafka did not start: {started.stderr[-2000:]}")
    try:
        yield ApacheKafka(started.stdout.strip().splitlines()[-1])
    finally:
        subprocess.run(
            ["bash", str(APACHE_KAFKA), "stop", str(folder)], capture_output=True, timeout=60
        )


@pytest.fixture(scope="session", params=BROKERS)
def broker(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EmbeddedBroker | ApacheKafka]:
    """One Kafka broker per kind for the session; tests use their own topics and groups."""
    if request.param == "embedded":
        with EmbeddedBroker() as embedded:
            yield embedded
    elif request.param == "apache":
        if not APACHE_KAFKA.is_file() or shutil.which("java") is None:
            pytest.skip(f"Apache Kafka needs {APACHE_KAFKA} and java (a fresh clone has neither)")
        with apache_kafka(tmp_path_factory.mktemp("apache-kafka")) as apache:
            yield apache
    else:
        raise ValueError(f"EDGEWATCH_TEST_BROKERS: unknown broker {request.param!r}")


SHARED_DATA = SHARED / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The public data sets beside the checkout (../shared/data); skip when absent."""
    if not (SHARED_DATA / "cmapss" / "train_FD001.txt").is_file():
        pytest.skip(f"public data sets not found at {SHARED_DATA} (a fresh clone has none)")
    return SHARED_DATA


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def free_port() -> Callable[[], int]:
    """Returns a function that picks a free TCP port on 127.0.0.1."""
    return _free_port
