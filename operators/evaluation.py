"""`Confusion`: point-wise online evaluation of decisions against ground-truth labels."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from operators.base import Scored

__all__ = ["Confusion"]


@dataclass
class Confusion:
    """Counts of true/false positives/negatives over labelled records (unlabelled are skipped)."""

    tp: int = 0
    fp: int = 0
    tn: int = 0
    fn: int = 0

    def update(self, batch: Iterable[Scored]) -> None:
        for item in batch:
            label = item.record.label
            if label is None:
                continue
            if item.decision:
                if label:
                    self.tp += 1
                else:
                    self.fp += 1
            elif label:
                self.fn += 1
            else:
                self.tn += 1

    @property
    def labelled(self) -> int:
        return self.tp + self.fp + self.tn + self.fn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0
