"""Simulated sensor fleet, after the Edge-1DCNN-LSTM paper's simulated data set.

Each asset is one univariate series: a sine with a period of 24 samples, a small linear trend and
Gaussian noise of 3% of the clean signal's range. About 15% of the points are anomalous, injected
as non-overlapping events of four kinds:

=========  ===========  ============================================================
kind       length       effect (R = range of the clean signal, sign random)
=========  ===========  ============================================================
drift      200-1500     a ramp from 0 to +-(0.3-0.6) R over the event
spike      1-5          +-(0.5-1.0) R on each point
offset     300-1000     a level shift of +-0.4 R
burst      400-1200     an added oscillation of period 8 and amplitude (0.2-0.4) R
=========  ===========  ============================================================

Randomness comes only from ``seed``: the same `FleetSpec` gives byte-identical records.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np

from edgewatch.errors import ConfigError
from edgewatch.records import SensorRecord

__all__ = [
    "EVENT_KINDS",
    "SPLIT_FRACTIONS",
    "FleetData",
    "FleetSpec",
    "SimSplit",
    "simulate_fleet",
    "split_bounds",
]

#: kind -> (min length, max length, probability of drawing this kind for the next event)
EVENT_KINDS: dict[str, tuple[int, int, float]] = {
    "drift": (200, 1500, 0.25),
    "spike": (1, 5, 0.25),
    "offset": (300, 1000, 0.25),
    "burst": (400, 1200, 0.25),
}
CHANNEL = "value"
_GAP = 50  # normal points kept between two events


@dataclass(frozen=True, slots=True)
class FleetSpec:
    """Parameters of the simulated fleet (defaults: the paper's set, five series)."""

    assets: int = 5
    points: int = 50_000
    period: int = 24
    trend: float = 0.2  # total drift of the level over the series, as a fraction of amplitude
    noise: float = 0.03  # noise standard deviation as a fraction of the clean range
    anomaly_fraction: float = 0.15
    interval_ms: int = 1_000
    start_ms: int = 1_767_225_600_000  # 2026-01-01T00:00:00Z
    seed: int = 42
    source: str = "simulated"

    def __post_init__(self) -> None:
        if self.assets < 1:
            raise ConfigError.invalid("assets", "must be at least 1", self.assets)
        if self.points < 2 * EVENT_KINDS["drift"][1]:
            raise ConfigError.invalid(
                "points", f"must be at least {2 * EVENT_KINDS['drift'][1]}", self.points
            )
        if not 0.0 <= self.anomaly_fraction <= 0.3:
            raise ConfigError.invalid(
                "anomaly_fraction", "must be in [0, 0.3]", self.anomaly_fraction
            )
        if self.period < 2 or self.interval_ms < 1 or self.noise < 0:
            raise ConfigError.invalid(
                "period/interval_ms/noise",
                "must be >= 2, >= 1 and >= 0",
                (self.period, self.interval_ms, self.noise),
            )


@dataclass(frozen=True, slots=True)
class FleetData:
    """The generated fleet: ``values`` and ``labels`` have shape (assets, points)."""

    spec: FleetSpec
    values: np.ndarray
    labels: np.ndarray
    events: tuple[tuple[int, str, int, int], ...]  # (asset index, kind, start, end exclusive)
    #: (assets, points): each series without noise or anomalies, and the anomalies' added
    #: effects: what an oracle knows (``values`` = clean + effects + noise, rounded).
    clean: np.ndarray
    effects: np.ndarray

    @property
    def asset_ids(self) -> list[str]:
        return [f"sim-{i:03d}" for i in range(self.spec.assets)]

    def __len__(self) -> int:
        return int(self.values.size)

    def records(
        self, limit: int | None = None, split: SimSplit | None = None
    ) -> Iterator[SensorRecord]:
        """Records in event-time order, assets interleaved at each time step; ``split`` keeps
        only that part of every asset's series (see `split_bounds`)."""
        spec, ids = self.spec, self.asset_ids
        values = self.values.T.tolist()
        labels = self.labels.T.tolist()
        remaining = len(self) if limit is None else limit
        lo, hi = (0, spec.points) if split is None else split_bounds(spec.points)[split]
        for t in range(lo, hi):
            ts = spec.start_ms + t * spec.interval_ms
            for a, asset in enumerate(ids):
                if remaining <= 0:
                    return
                remaining -= 1
                yield SensorRecord(
                    asset=asset,
                    ts=ts,
                    seq=t,
                    values={CHANNEL: values[t][a]},
                    source=spec.source,
                    label=labels[t][a],
                )


#: Shares of each asset's series (by time) in the train and validation splits; test is the rest.
SPLIT_FRACTIONS = (0.7, 0.15)
SimSplit = Literal["train", "val", "test"]


def split_bounds(
    points: int, fractions: tuple[float, float] = SPLIT_FRACTIONS
) -> dict[SimSplit, tuple[int, int]]:
    """[start, end) time steps of the train / val / test splits of a series of ``points``."""
    a = round(points * fractions[0])
    b = round(points * (fractions[0] + fractions[1]))
    return {"train": (0, a), "val": (a, b), "test": (b, points)}


def simulate_fleet(spec: FleetSpec | None = None) -> FleetData:
    """Generate the fleet described by ``spec`` (deterministic in ``spec.seed``)."""
    spec = spec or FleetSpec()
    children = np.random.SeedSequence(spec.seed).spawn(spec.assets)
    values = np.empty((spec.assets, spec.points))
    clean, effects = np.empty_like(values), np.zeros_like(values)
    labels = np.zeros((spec.assets, spec.points), dtype=np.int64)
    events: list[tuple[int, str, int, int]] = []
    for a, child in enumerate(children):
        rng = np.random.default_rng(child)
        values[a], labels[a], asset_events, clean[a], effects[a] = _series(spec, rng)
        events.extend((a, kind, start, end) for kind, start, end in asset_events)
    return FleetData(
        spec=spec,
        values=np.round(values, 6),
        labels=labels,
        events=tuple(events),
        clean=clean,
        effects=effects,
    )


def _series(
    spec: FleetSpec, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, list[tuple[str, int, int]], np.ndarray, np.ndarray]:
    n = spec.points
    t = np.arange(n, dtype=np.float64)
    amplitude = rng.uniform(0.8, 1.2)
    level = rng.uniform(-1.0, 1.0)
    phase = rng.uniform(0.0, 2 * np.pi)
    slope = rng.uniform(-spec.trend, spec.trend) * amplitude / n
    clean = level + amplitude * np.sin(2 * np.pi * t / spec.period + phase) + slope * t
    span = float(clean.max() - clean.min())
    signal = clean + rng.normal(0.0, spec.noise * span, n)
    effects = np.zeros(n)

    labels = np.zeros(n, dtype=np.int64)
    kinds = list(EVENT_KINDS)
    weights = np.array([EVENT_KINDS[k][2] for k in kinds])
    target = round(spec.anomaly_fraction * n)
    events: list[tuple[str, int, int]] = []
    labelled = 0
    while labelled < target:
        kind = kinds[int(rng.choice(len(kinds), p=weights))]
        low, high, _ = EVENT_KINDS[kind]
        length = min(int(rng.integers(low, high + 1)), target - labelled)
        start = _free_start(labels, length, rng)
        if start is None:
            break
        end = start + length
        effects[start:end] = _effect(kind, length, span, rng)
        signal[start:end] += effects[start:end]
        labels[start:end] = 1
        labelled += length
        events.append((kind, start, end))
    events.sort(key=lambda e: e[1])
    return signal, labels, events, clean, effects


def _free_start(labels: np.ndarray, length: int, rng: np.random.Generator) -> int | None:
    """A start index whose event, padded by a gap, touches no earlier event (None: no room)."""
    n = labels.size
    for _ in range(1_000):
        start = int(rng.integers(_GAP, n - length - _GAP))
        if not labels[start - _GAP : start + length + _GAP].any():
            return start
    return None


def _effect(kind: str, length: int, span: float, rng: np.random.Generator) -> np.ndarray:
    sign = rng.choice((-1.0, 1.0))
    if kind == "drift":
        return np.asarray(sign * rng.uniform(0.3, 0.6) * span * np.linspace(0.0, 1.0, length))
    if kind == "spike":
        return np.asarray(sign * rng.uniform(0.5, 1.0, length) * span)
    if kind == "offset":
        return np.full(length, sign * 0.4 * span)
    amplitude = rng.uniform(0.2, 0.4) * span
    return np.asarray(amplitude * np.sin(2 * np.pi * np.arange(length) / 8.0))
