"""Shared fixtures. Integration fixtures start real servers on 127.0.0.1 only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pipeline.broker import EmbeddedBroker


@pytest.fixture(scope="session")
def broker() -> Iterator[EmbeddedBroker]:
    """One embedded Kafka-API broker for the session; tests use their own topics and groups."""
    with EmbeddedBroker() as embedded:
        yield embedded
