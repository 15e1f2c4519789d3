"""Online evaluation against labels: point-wise `Confusion`, event-wise `EventRecall`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from edgewatch.operators.base import Scored

__all__ = ["Confusion", "EventRecall"]


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


@dataclass
class EventRecall:
    """Event-wise evaluation: each labelled anomaly segment (a run of label 1 per asset) is
    detected if any of its records is decided anomalous; its delay is the event time from the
    segment's first record to the first anomalous decision. A segment is counted when it ends
    (the asset's next label-0 record); ``delays_ms`` lists the delays of detected segments."""

    detected: int = 0
    missed: int = 0
    delays_ms: list[int] = field(default_factory=list)
    _open: dict[str, tuple[int, int | None]] = field(default_factory=dict)  # start ts, hit ts

    def update(self, batch: Iterable[Scored]) -> list[int | None]:
        """Advance over ``batch``; return the delay (or None if missed) of each segment closed."""
        closed: list[int | None] = []
        for item in batch:
            r = item.record
            if r.label is None:
                continue
            current = self._open.get(r.asset)
            if r.label:
                if current is None:
                    current = (r.ts, None)
                if item.decision and current[1] is None:
                    current = (current[0], r.ts)
                self._open[r.asset] = current
            elif current is not None:
                del self._open[r.asset]
                closed.append(self._close(current))
        return closed

    def finish(self) -> list[int | None]:
        """Count the segments still open (a stream that ends mid-anomaly, as FD001 units do)."""
        closed = [self._close(segment) for segment in self._open.values()]
        self._open.clear()
        return closed

    def _close(self, segment: tuple[int, int | None]) -> int | None:
        start, hit = segment
        if hit is None:
            self.missed += 1
            return None
        self.detected += 1
        self.delays_ms.append(hit - start)
        return hit - start

    @property
    def recall(self) -> float:
        total = self.detected + self.missed
        return self.detected / total if total else 0.0
