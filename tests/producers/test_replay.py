from __future__ import annotations

import threading

import pytest

from edgewatch.errors import ConfigError
from edgewatch.records import SensorRecord, decode_record
from edgewatch.transport import MemoryBroker
from producers.replay import replay


def _records(n: int) -> list[SensorRecord]:
    return [
        SensorRecord(asset=f"a{i % 3}", ts=i, seq=i // 3, values={"v": float(i)}, source="t")
        for i in range(n)
    ]


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


def test_sends_every_record_keyed_by_asset() -> None:
    broker = MemoryBroker()
    broker.create_topic("in", 3)
    stats = replay(_records(30), broker.sink(), "in")
    assert stats.sent == 30
    got = broker.messages("in")
    assert sorted(decode_record(m.value or b"").ts for m in got) == list(range(30))
    assert all(m.key == decode_record(m.value or b"").asset.encode() for m in got)


def test_rate_paces_on_an_absolute_schedule() -> None:
    clock = FakeClock()
    stats = replay(
        _records(1_000), MemoryBroker().sink(), "in", rate=500.0, now=clock.now, sleep=clock.sleep
    )
    assert stats.elapsed_s == pytest.approx(999 / 500)
    assert stats.rate == pytest.approx(500, rel=0.01)


def test_stop_flushes_what_was_sent() -> None:
    broker = MemoryBroker()
    stop = threading.Event()
    seen: list[int] = []

    def progress(sent: int) -> None:
        seen.append(sent)
        if sent >= 10:
            stop.set()

    stats = replay(
        _records(100), broker.sink(), "in", stop=stop, on_progress=progress, progress_every=5
    )
    assert stats.stopped
    assert stats.sent == 10
    assert len(broker.messages("in")) == 10
    assert seen[-1] == 10


def test_rejects_non_positive_rate() -> None:
    with pytest.raises(ConfigError, match="rate"):
        replay([], MemoryBroker().sink(), "in", rate=0)
