"""Shared fixtures. Integration fixtures start real servers on 127.0.0.1 only."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from edgewatch.pipeline.kafka.broker import EmbeddedBroker


@pytest.fixture(scope="session")
def broker() -> Iterator[EmbeddedBroker]:
    """One embedded Kafka-API broker for the session; tests use their own topics and groups."""
    with EmbeddedBroker() as embedded:
        yield embedded


SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


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
