"""`EventTimeWindows`: per-asset tumbling or hopping windows on event time, with a grace period.

Windows are ``[k * hop_ms, k * hop_ms + size_ms)`` (tumbling when ``hop_ms == size_ms``). Each
asset's watermark is the largest ``ts`` it has seen minus ``grace_ms``; a window is emitted, in
order of its end, once the watermark reaches its end. A record that belongs to a window already
emitted is late: it joins no window, is counted in ``late_count`` and kept in ``late`` until
the caller takes it with `take_late` (the member routes it to the DLQ), never silently dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from edgewatch.errors import ConfigError
from edgewatch.records import SensorRecord

__all__ = ["EventTimeWindows", "TimeWindow"]


@dataclass(slots=True)
class TimeWindow:
    asset: str
    start_ms: int
    end_ms: int
    records: list[SensorRecord] = field(default_factory=list)

    def values(self, channels: Sequence[str]) -> np.ndarray:
        """Readings as a (records, channels) array; a channel a record lacks is NaN."""
        nan = float("nan")
        return np.array([[r.values.get(c, nan) for c in channels] for r in self.records])


class _AssetState:
    __slots__ = ("emitted_until", "open", "watermark")

    def __init__(self) -> None:
        self.open: dict[int, TimeWindow] = {}
        self.watermark: int | None = None
        self.emitted_until: int | None = None


class EventTimeWindows:
    def __init__(self, size_ms: int, hop_ms: int | None = None, grace_ms: int = 0) -> None:
        hop = size_ms if hop_ms is None else hop_ms
        if size_ms < 1 or not 1 <= hop <= size_ms or grace_ms < 0:
            raise ConfigError.invalid(
                "size_ms/hop_ms/grace_ms",
                "need size_ms >= 1, 1 <= hop_ms <= size_ms and grace_ms >= 0",
                (size_ms, hop_ms, grace_ms),
            )
        self.size_ms, self.hop_ms, self.grace_ms = size_ms, hop, grace_ms
        self.states: dict[str, _AssetState] = {}
        self.late: list[SensorRecord] = []
        self.late_count = 0

    def evict(self, assets: Iterable[str]) -> None:
        for asset in assets:
            self.states.pop(asset, None)

    def take_late(self) -> list[SensorRecord]:
        late, self.late = self.late, []
        return late

    def _starts(self, ts: int) -> range:
        """Starts of the windows holding ``ts``, earliest first."""
        first = ((ts - self.size_ms) // self.hop_ms + 1) * self.hop_ms
        return range(first, ts // self.hop_ms * self.hop_ms + 1, self.hop_ms)

    def process(self, batch: list[SensorRecord]) -> list[TimeWindow]:
        """The windows this batch closes, per asset in order of their end."""
        out: list[TimeWindow] = []
        for record in batch:
            state = self.states.get(record.asset)
            if state is None:
                state = self.states[record.asset] = _AssetState()
            starts = self._starts(record.ts)
            if state.emitted_until is not None and starts[0] + self.size_ms <= state.emitted_until:
                self.late.append(record)
                self.late_count += 1
                continue
            for start in starts:
                window = state.open.get(start)
                if window is None:
                    window = state.open[start] = TimeWindow(
                        record.asset, start, start + self.size_ms
                    )
                window.records.append(record)
            mark = record.ts - self.grace_ms
            if state.watermark is None or mark > state.watermark:
                state.watermark = mark
                for start in sorted(s for s in state.open if s + self.size_ms <= mark):
                    closed = state.open.pop(start)
                    state.emitted_until = closed.end_ms
                    out.append(closed)
        return out
