"""`CountWindows`: per-asset windows of the last ``seq_len`` readings, one per record once full.

Each asset keeps a ring buffer in the model card's channel order. A record missing a channel
carries that channel's last value forward; until every channel has been seen, and until
``seq_len`` readings have arrived (unless ``pad_start``), the record is counted as warm-up and
yields no window. ``stride`` emits a window every ``stride``-th record of an asset.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from edgewatch.errors import ConfigError
from edgewatch.records import SensorRecord

__all__ = ["CountWindows", "Window"]


@dataclass(slots=True)
class Window:
    """The newest record and the ``(seq_len, channels)`` readings that end with it; the
    prefilter and the gate fill in ``prefilter``, ``woken`` and ``audit``."""

    record: SensorRecord
    values: np.ndarray
    prefilter: float | None = None
    woken: bool = True
    audit: bool = False


class _AssetState:
    __slots__ = ("buffer", "count", "last")

    def __init__(self, seq_len: int, channels: int) -> None:
        self.buffer = np.empty((seq_len, channels))
        self.count = 0  # readings appended
        self.last = np.full(channels, np.nan)  # carried-forward values


class CountWindows:
    def __init__(
        self, channels: Sequence[str], seq_len: int, stride: int = 1, pad_start: bool = False
    ) -> None:
        if not channels:
            raise ConfigError.invalid("channels", "must name at least one channel", channels)
        if seq_len < 1 or stride < 1:
            raise ConfigError.invalid("seq_len/stride", "must be at least 1", (seq_len, stride))
        self.channels = list(channels)
        self.seq_len = seq_len
        self.stride = stride
        self.pad_start = pad_start
        self.states: dict[str, _AssetState] = {}
        self.warming = 0  # records that yielded no window (warm-up or stride)

    def __len__(self) -> int:
        return len(self.states)

    def evict(self, assets: Iterable[str]) -> None:
        """Forget these assets (their partition moved away); they warm up again if they return."""
        for asset in assets:
            self.states.pop(asset, None)

    def process(self, batch: list[SensorRecord]) -> list[Window]:
        out: list[Window] = []
        names, seq_len = self.channels, self.seq_len
        for record in batch:
            state = self.states.get(record.asset)
            if state is None:
                state = self.states[record.asset] = _AssetState(seq_len, len(names))
            values = record.values
            row = state.last
            for j, name in enumerate(names):
                value = values.get(name)
                if value is not None:
                    row[j] = value
            if np.isnan(row).any():
                self.warming += 1
                continue
            if state.count == 0 and self.pad_start:
                state.buffer[:] = row
                state.count = seq_len - 1
            state.buffer[state.count % seq_len] = row
            state.count += 1
            if state.count < seq_len or (state.count - seq_len) % self.stride:
                self.warming += 1
                continue
            start = state.count % seq_len
            out.append(Window(record, np.roll(state.buffer, -start, axis=0)))
        return out
