"""The replay engine: sends `SensorRecord`s to a topic, keyed by asset, optionally paced.

Keying by asset keeps each asset's records in order in one partition. Pacing by ``rate`` keeps
a steady records/s against an absolute schedule (no drift from sleep overshoot); ``rate=None``
sends as fast as the sink accepts. The clock is injected for tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from edgewatch.errors import ConfigError
from edgewatch.records import SensorRecord, encode_record
from edgewatch.transport import MessageSink

__all__ = ["ReplayStats", "StopFlag", "replay"]


class StopFlag(Protocol):
    """What ``stop`` must offer: threading.Event and multiprocessing.Event both do."""

    def is_set(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class ReplayStats:
    sent: int
    elapsed_s: float
    stopped: bool  # True when ``stop`` ended the replay early

    @property
    def rate(self) -> float:
        return self.sent / self.elapsed_s if self.elapsed_s > 0 else 0.0


def replay(
    records: Iterable[SensorRecord],
    sink: MessageSink,
    topic: str,
    *,
    rate: float | None = None,
    stop: StopFlag | None = None,
    on_progress: Callable[[int], None] | None = None,
    progress_every: int = 1_000,
    now: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ReplayStats:
    """Send ``records`` to ``topic``; flush before returning, also when stopped early."""
    if rate is not None and not rate > 0:
        raise ConfigError.invalid("rate", "must be a positive number of records/s", rate)
    start = now()
    sent = 0
    stopped = False
    for record in records:
        if stop is not None and stop.is_set():
            stopped = True
            break
        if rate is not None:
            delay = start + sent / rate - now()
            if delay > 0:
                sleep(delay)
        sink.send(topic, record.asset.encode(), encode_record(record))
        sent += 1
        if on_progress is not None and sent % progress_every == 0:
            on_progress(sent)
    sink.flush()
    if on_progress is not None:
        on_progress(sent)
    return ReplayStats(sent=sent, elapsed_s=now() - start, stopped=stopped)
