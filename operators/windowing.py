"""`CountWindows`: per-asset windows of the last ``seq_len`` readings, one per record once full.

Each asset keeps its newest ``seq_len - 1`` readings in the model card's channel order; a
batch's windows are views of one numpy sliding window per asset over those and the batch's
readings. A record missing a channel carries that channel's last value forward; until every
channel has been seen, and until ``seq_len`` readings have arrived (unless ``pad_start``), the
record is counted as warm-up and yields no window. ``stride`` emits a window every
``stride``-th record of an asset.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

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
    __slots__ = ("count", "last", "tail")

    def __init__(self, seq_len: int, channels: int) -> None:
        self.count = 0  # readings appended
        self.last = np.full(channels, np.nan)  # carried-forward values
        self.tail = np.empty((0, channels))  # the newest seq_len - 1 readings


def _carry_forward(rows: np.ndarray) -> np.ndarray:
    """Each NaN takes the last non-NaN value above it in its column (if any)."""
    missing = np.isnan(rows)
    if not missing.any():
        return rows
    index = np.where(missing, 0, np.arange(len(rows))[:, None])
    np.maximum.accumulate(index, axis=0, out=index)
    return rows[index, np.arange(rows.shape[1])]


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
        """Windows in batch order; per asset, one numpy sliding-window view over the batch."""
        groups: dict[str, list[int]] = {}
        for i, record in enumerate(batch):
            groups.setdefault(record.asset, []).append(i)
        found: list[tuple[int, Window]] = []
        for asset, positions in groups.items():
            found += self._asset(asset, [batch[i] for i in positions], positions)
        found.sort(key=lambda item: item[0])
        return [window for _, window in found]

    def _asset(
        self, asset: str, records: list[SensorRecord], positions: list[int]
    ) -> list[tuple[int, Window]]:
        seq_len, names = self.seq_len, self.channels
        state = self.states.get(asset)
        if state is None:
            state = self.states[asset] = _AssetState(seq_len, len(names))
        nan = math.nan
        raw = np.array([[r.values.get(n, nan) for n in names] for r in records], dtype=np.float64)
        rows = _carry_forward(np.vstack([state.last, raw]))[1:]
        state.last = rows[-1].copy()
        complete = ~np.isnan(rows).any(axis=1)  # once complete, carry-forward keeps it so
        start = int(np.argmax(complete)) if complete.any() else len(rows)
        self.warming += start
        rows = rows[start:]
        if not len(rows):
            return []
        if state.count == 0 and self.pad_start:
            state.tail = np.repeat(rows[:1], seq_len - 1, axis=0)
            state.count = seq_len - 1
        full = np.vstack([state.tail, rows])
        if len(full) < seq_len:  # still warming up: no window can end in this batch
            views = np.empty((0, seq_len, len(names)))
        else:
            views = sliding_window_view(full, seq_len, axis=0).transpose(0, 2, 1)
        offset = len(state.tail) - (seq_len - 1)  # full index of row 0 minus a window's end
        out = []
        for j in range(len(rows)):
            count = state.count + j + 1
            if count < seq_len or (count - seq_len) % self.stride:
                self.warming += 1
                continue
            out.append((positions[start + j], Window(records[start + j], views[offset + j])))
        state.count += len(rows)
        state.tail = full[len(full) - min(seq_len - 1, len(full)) :].copy()
        return out
