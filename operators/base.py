"""Operator and detector contracts, and the `Scored` item that flows between operators.

An operator is a small class with one job and ``process(batch) -> batch``. A detector follows
River's contract: ``score_one(x)`` (higher = more anomalous) then ``learn_one(x)``, always score
before learn. Constructors take parameters only and do no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from edgewatch.records import SensorRecord

__all__ = ["Chain", "Detector", "Operator", "Scored"]

A = TypeVar("A")
B = TypeVar("B")
C = TypeVar("C")


@dataclass(slots=True)
class Scored:
    """A record with its anomaly score and, once thresholded, its decision."""

    record: SensorRecord
    score: float
    decision: bool = False


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
