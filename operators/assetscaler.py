"""`AssetScaler`: scale each asset's windows by that asset's own robust statistics.

For a model running on sensors in other units than it was trained on (``detector.scaling:
asset``). Per asset and channel, a mean and a standard deviation, as a card's training
statistics are, but robust and learned online from the asset's own readings: while fewer than
``learn`` readings have arrived, those of all readings so far after winsorizing them to the
median +- 5 MADs; after that they are tracked slowly, with exponential weight ``rate`` per
reading and each reading's residual clipped to ``clip`` standard deviations, so a fault neither
drags the mean nor inflates the spread. A channel that has not varied keeps a scale of 1 (its
scaled value is 0). Each window is scaled with the statistics as they stood when its newest
reading arrived, then that reading is learned.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from edgewatch.errors import ConfigError, StateError
from edgewatch.operators import state as snap
from edgewatch.operators.windowing import WindowBatch
from edgewatch.records import SensorRecord

__all__ = ["AssetScaler"]

_WINSOR_MADS = 5.0


class _Stats:
    __slots__ = ("buffer", "center", "n", "scale")

    def __init__(self, channels: int) -> None:
        self.n = 0
        self.buffer: list[np.ndarray] = []  # the first readings, until `learn` have arrived
        self.center = np.zeros(channels)
        self.scale = np.ones(channels)


class AssetScaler:
    def __init__(
        self, channels: int, learn: int = 200, rate: float = 0.001, clip: float = 4.0
    ) -> None:
        if channels < 1 or learn < 1 or not 0.0 < rate < 1.0 or not clip > 0.0:
            raise ConfigError.invalid(
                "channels/learn/rate/clip",
                "must be >= 1, >= 1, in (0, 1) and > 0",
                (channels, learn, rate, clip),
            )
        self.channels, self.learn, self.rate, self.clip = channels, learn, rate, clip
        self.stats: dict[str, _Stats] = {}

    def evict(self, assets: Iterable[str]) -> None:
        for asset in assets:
            self.stats.pop(asset, None)

    def process(self, batch: WindowBatch) -> WindowBatch:
        if len(batch):
            batch.values = self.scale(batch.records, batch.values)
        return batch

    def scale(self, records: Sequence[SensorRecord], values: np.ndarray) -> np.ndarray:
        """``values[i]`` (the window ending with ``records[i]``) scaled; learns as it goes."""
        out = np.empty_like(values)
        for i, record in enumerate(records):
            stats = self.stats.get(record.asset)
            if stats is None:
                stats = self.stats[record.asset] = _Stats(self.channels)
                for reading in values[i, :-1]:  # the window's earlier readings seed it
                    self._learn(stats, reading)
            out[i] = (values[i] - stats.center) / stats.scale
            self._learn(stats, values[i, -1])
        return out

    def _learn(self, stats: _Stats, reading: np.ndarray) -> None:
        stats.n += 1
        if stats.n <= self.learn:
            stats.buffer.append(reading.copy())
            seen = np.asarray(stats.buffer)
            median = np.median(seen, axis=0)
            reach = _WINSOR_MADS * np.median(np.abs(seen - median), axis=0)
            kept = np.clip(seen, median - reach, median + reach) if reach.any() else seen
            stats.center = kept.mean(axis=0)
            spread = kept.std(axis=0)
            stats.scale = np.where(spread > 0.0, spread, 1.0)
            if stats.n == self.learn:
                stats.buffer = []
            return
        limit = self.clip * stats.scale
        residual = np.clip(reading - stats.center, -limit, limit)
        stats.center = stats.center + self.rate * residual
        var = (1.0 - self.rate) * (stats.scale**2 + self.rate * residual**2)
        stats.scale = np.sqrt(np.maximum(var, 1e-24))

    def state_of(self, asset: str) -> dict[str, Any] | None:
        stats = self.stats.get(asset)
        if stats is None:
            return None
        return {
            "n": stats.n,
            "center": stats.center.tolist(),
            "scale": stats.scale.tolist(),
            "buffer": [row.tolist() for row in stats.buffer],
        }

    def restore(self, asset: str, saved: Mapping[str, Any]) -> None:
        where, width = f"scaler state of {asset!r}", self.channels
        stats = _Stats(width)
        stats.n = snap.integer(saved, "n", where)
        stats.center = np.array(snap.reading(saved, "center", where, width, missing=False))
        stats.scale = np.array(snap.reading(saved, "scale", where, width, missing=False))
        if not (stats.scale > 0).all():
            raise StateError(f"{where}.scale must hold positive numbers")
        rows = snap.rows(saved, "buffer", where, width, self.learn)
        stats.buffer = [np.array(row) for row in rows]
        self.stats[asset] = stats
