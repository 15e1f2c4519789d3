from __future__ import annotations

import pytest

from edgewatch.errors import BrokerError
from edgewatch.transport import MemoryBroker, behind


def test_same_key_same_partition_in_order() -> None:
    broker = MemoryBroker()
    broker.create_topic("t", 4)
    sink = broker.sink()
    for i in range(20):
        sink.send("t", f"k{i % 3}".encode(), str(i).encode())
    sink.flush()
    for key in (b"k0", b"k1", b"k2"):
        parts = {m.partition for m in broker.messages("t") if m.key == key}
        assert len(parts) == 1
        values = [int(m.value or b"") for m in broker.messages("t") if m.key == key]
        assert values == sorted(values)


def test_uncommitted_messages_are_redelivered_after_restart() -> None:
    broker = MemoryBroker()
    sink = broker.sink()
    for i in range(5):
        sink.send("t", b"k", str(i).encode())
    sink.flush()
    source = broker.source(["t"], "g")
    first = source.poll(0, 3)
    source.commit({("t", 0): first[-1].offset + 1})
    assert [m.value for m in source.poll(0, 10)] == [b"3", b"4"]
    source.close()  # a crash before committing 3 and 4
    assert [m.value for m in broker.source(["t"], "g").poll(0, 10)] == [b"3", b"4"]


def test_failed_flush_raises_broker_error_and_writes_nothing() -> None:
    broker = MemoryBroker()
    sink = broker.sink()
    sink.fail = True
    sink.send("t", b"k", b"v")
    with pytest.raises(BrokerError):
        sink.flush()
    assert broker.messages("t") == []


def test_behind_counts_only_partitions_read_and_forgets_revoked_ones() -> None:
    read = {("t", 0): 5, ("t", 1): 10, ("t", 2): 3}
    assert behind({("t", 0): 8, ("t", 1): 10, ("t", 3): 99}, read) == 3  # t-3 not read yet
    assert read == {("t", 0): 5, ("t", 1): 10}  # t-2 was revoked: forgotten
    assert behind({("t", 3): 99}, read) is None
    assert behind({("t", 0): 4}, {("t", 0): 5}) == 0  # a stale end never reads negative
