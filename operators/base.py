"""Operator and detector contracts, and the `Scored` item that flows between operators.

An operator is a small class with one job and ``process(batch) -> batch``. A detector follows
River's contract: ``score_one(x)`` (higher = more anomalous) then ``learn_one(x)``, always score
before learn. Constructors take parameters only and do no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import numpy as np

from edgewatch.records import SensorRecord

__all__ = ["Chain", "Detector", "ModelInfo", "Operator", "Scored", "StreamDetector"]

A = TypeVar("A")
B = TypeVar("B")
C = TypeVar("C")


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """Which detector decided a window, as a detection names it."""

    name: str
    version: str
    threshold: float


@dataclass(slots=True)
class Scored:
    """A record with its anomaly score and, once thresholded, its decision.

    In the model cascade it also carries the prefilter's score, whether the gate woke the model
    (a window not woken scores 0.0 and is decided normal), whether that wake was an audit sample,
    the scaled window (for explanations) and the channels that explain an anomalous decision.
    """

    record: SensorRecord
    score: float
    decision: bool = False
    prefilter: float | None = None
    woken: bool = True
    audit: bool = False
    values: np.ndarray | None = None
    top_channels: tuple[str, ...] = ()
    model: ModelInfo | None = None  # set where detectors are routed per asset


class Operator(Protocol[A, B]):
    def process(self, batch: list[A]) -> list[B]: ...


class Detector(Protocol):
    def score_one(self, x: Mapping[str, float]) -> float: ...
    def learn_one(self, x: Mapping[str, float]) -> None: ...


class Chain(Generic[A, B, C]):
    """Two operators in sequence: ``Chain(f, g).process(x) == g.process(f.process(x))``."""

    def __init__(self, first: Operator[A, B], second: Operator[B, C]) -> None:
        self.first = first
        self.second = second

    def process(self, batch: list[A]) -> list[C]:
        return self.second.process(self.first.process(batch))


class StreamDetector(Protocol):
    """What a pipeline member runs: `operators.Cascade` is the one the product ships."""

    def process(self, batch: list[SensorRecord]) -> list[Scored]: ...
    def submit(self, batch: list[SensorRecord]) -> Callable[[], list[Scored]]: ...
    def evict(self, assets: Iterable[str]) -> None: ...
    def state_of(self, asset: str) -> dict[str, Any] | None: ...
    def restore(self, asset: str, saved: Mapping[str, Any]) -> None: ...
    def __len__(self) -> int: ...
    @property
    def warming(self) -> int: ...
    @property
    def unfit(self) -> int: ...
    def take_unfit(self) -> dict[str, list[str]]: ...
    @property
    def invocations(self) -> int: ...
    @property
    def model_seconds(self) -> float: ...
    @property
    def model_windows(self) -> int: ...
    @property
    def threshold_value(self) -> float: ...
