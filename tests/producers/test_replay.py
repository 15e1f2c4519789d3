from __future__ import annotations

import itertools
import threading

import pytest

from edgewatch.errors import ConfigError
from edgewatch.producers.replay import Encoded, loop, replay, select
from edgewatch.records import SensorRecord, decode_record
from edgewatch.transport import MemoryBroker


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


def test_a_late_start_never_bursts_above_the_rate() -> None:
    clock = FakeClock()
    sent_at: list[float] = []

    sink = MemoryBroker().sink()
    real_send = sink.send

    def send(topic: str, key: bytes | None, value: bytes) -> None:
        sent_at.append(clock.t)
        if len(sent_at) == 1:
            clock.t += 3.0  # the first send stalls (connection, metadata) for 3 s
        real_send(topic, key, value)

    sink.send = send  # type: ignore[method-assign]
    replay(_records(2_001), sink, "in", rate=1_000.0, now=clock.now, sleep=clock.sleep)
    # At most max_behind_s (1 s) of schedule is caught up; the rest of the replay keeps the rate.
    per_second = [sum(1 for t in sent_at if s <= t < s + 1) for s in range(int(sent_at[-1]) + 1)]
    assert max(per_second) <= 2 * 1_000 + 1
    steady = [t for t in sent_at if t >= sent_at[1] + 1.5]
    assert (len(steady) - 1) / (steady[-1] - steady[0]) == pytest.approx(1_000, rel=0.01)


def test_elapsed_time_is_the_whole_replay_paced_or_not() -> None:
    clock = FakeClock()
    sink = MemoryBroker().sink()
    real_send = sink.send

    def slow_send(topic: str, key: bytes | None, value: bytes) -> None:
        clock.t += 0.01  # each send takes 10 ms
        real_send(topic, key, value)

    sink.send = slow_send  # type: ignore[method-assign]
    stats = replay(_records(300), sink, "in", now=clock.now, sleep=clock.sleep)
    assert stats.elapsed_s == pytest.approx(3.0)


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


def test_speedup_paces_by_event_time() -> None:
    clock = FakeClock()
    records = [SensorRecord("a", 1_000 * i, i, {"v": 1.0}, "t") for i in (0, 10, 30)]
    stamps: list[float] = []

    class Sink:
        def send(
            self, topic: str, key: bytes | None, value: bytes, partition: int | None = None
        ) -> None:
            stamps.append(clock.t)

        def flush(self, timeout_s: float = 30.0) -> None: ...
        def close(self) -> None: ...

    replay(records, Sink(), "in", speedup=10.0, now=clock.now, sleep=clock.sleep)
    assert stamps == pytest.approx([0.0, 1.0, 3.0])  # 10 s of event time per second


def test_a_long_pacing_gap_still_notices_stop() -> None:
    clock = FakeClock()
    stop = threading.Event()
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.sleep(seconds)
        if clock.t > 1.0:
            stop.set()

    records = [SensorRecord("a", t, i, {"v": 1.0}, "t") for i, t in enumerate((0, 3_600_000))]
    stats = replay(
        records, MemoryBroker().sink(), "in", speedup=1.0, stop=stop, now=clock.now, sleep=sleep
    )
    assert stats.sent == 1
    assert stats.stopped
    assert max(sleeps) <= 0.25


def test_rate_and_speedup_are_exclusive() -> None:
    with pytest.raises(ConfigError, match="choose one pacing"):
        replay([], MemoryBroker().sink(), "in", rate=10, speedup=2)


def test_select_filters_assets_by_glob_and_limits() -> None:
    picked = list(select(_records(30), assets=["a1", "a2*"], limit=7))
    assert len(picked) == 7
    assert {r.asset for r in picked} == {"a1", "a2"}
    assert list(select(_records(5), limit=None)) == _records(5)


def test_loop_continues_time_and_seq() -> None:
    base = [
        SensorRecord(f"a{i % 2}", 100 + 10 * (i // 2), i // 2, {"v": 1.0}, "t") for i in range(6)
    ]
    laps = list(loop(lambda: base, times=3, gap_ms=5))
    assert len(laps) == 18
    for asset in ("a0", "a1"):
        mine = [r for r in laps if r.asset == asset]
        assert [r.seq for r in mine] == list(range(9))
        assert all(b.ts > a.ts for a, b in itertools.pairwise(mine))
    assert laps[6].ts == 100 + 20 + 5  # the second lap starts gap_ms after the first ended
    assert list(loop(list, times=None)) == []  # an empty data set does not spin forever


def test_a_high_rate_sleeps_once_a_millisecond_not_once_a_record() -> None:
    clock = FakeClock()
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.sleep(seconds)

    stats = replay(
        _records(3_600), MemoryBroker().sink(), "in", rate=36_000.0, now=clock.now, sleep=sleep
    )
    assert len(sleeps) <= 100  # one per millisecond of schedule
    assert stats.rate == pytest.approx(36_000, rel=0.01)


def test_encoded_records_replay_as_the_same_messages() -> None:
    records = _records(30)
    plain, encoded = MemoryBroker(), MemoryBroker()
    replay(records, plain.sink(), "in")
    replay([Encoded.of(r) for r in records], encoded.sink(), "in")
    assert [(m.key, m.value) for m in encoded.messages("in")] == [
        (m.key, m.value) for m in plain.messages("in")
    ]
