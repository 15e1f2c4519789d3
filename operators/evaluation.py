"""Evaluation against labels: point-wise `Confusion`, event-wise `EventRecall` (both online) and
the NAB-style `EarlyDetection` score."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from edgewatch.operators.base import Scored

__all__ = ["Confusion", "EarlyDetection", "EventRecall"]


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


#: The standard profile of the NAB benchmark's scoring: reward of a detected window, weight of a
#: false alarm, penalty of a missed window.
A_TP, A_FP, A_FN = 1.0, -0.11, -1.0


def _scaled_sigmoid(position: float) -> float:
    """NAB's reward curve: about 1 at a window's start (-1), 0 at its end, towards -1 after."""
    return -1.0 if position > 3.0 else 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


@dataclass
class EarlyDetection:
    """An early-detection score in the style of the NAB benchmark's standard profile, written
    from its published description and accumulated over streams.

    Per stream, the anomaly windows are the runs of label 1. Detections in the first 15% of a
    stream (at most 750 records: the probation, while a detector learns) are ignored. The first
    detection in a window earns ``A_TP`` times a sigmoid of its position (about 1 at the window's
    start, 0 at its end); later ones in the same window count nothing. A detection outside every
    window costs ``A_FP`` (weighted by the same sigmoid when it follows a window closely); a
    window with no detection costs ``A_FN``. `score` normalises the sum: 0 for a detector that
    never fires, 100 for one that fires at the start of every window and nowhere else.
    """

    raw: float = 0.0
    null: float = 0.0
    perfect: float = 0.0
    windows: int = 0
    detected: int = 0
    false_alarms: int = 0

    def add(self, labels: Sequence[int], detections: Sequence[bool]) -> None:
        """One stream: its labels and, row for row, whether a detection was raised there."""
        n = len(labels)
        if len(detections) != n:
            raise ValueError(f"{n} labels but {len(detections)} detections")
        windows = _runs(labels)
        probation = min(int(0.15 * n), 750)
        hit = [False] * len(windows)
        w = 0  # the first window that does not end before row i
        for i in (i for i, d in enumerate(detections) if d and i >= probation):
            while w < len(windows) and windows[w][1] < i:
                w += 1
            if w < len(windows) and windows[w][0] <= i:
                start, end = windows[w]
                if not hit[w]:
                    hit[w] = True
                    self.raw += A_TP * _scaled_sigmoid((i - end - 1) / (end - start + 1))
                continue
            self.false_alarms += 1
            if w == 0:
                self.raw += A_FP
            else:
                start, end = windows[w - 1]
                self.raw += -A_FP * _scaled_sigmoid((i - end) / (end - start + 1))
        self.raw += A_FN * hit.count(False)
        self.null += A_FN * len(windows)
        self.perfect += A_TP * _scaled_sigmoid(-1.0) * len(windows)
        self.windows += len(windows)
        self.detected += sum(hit)

    @property
    def score(self) -> float:
        span = self.perfect - self.null
        return 100.0 * (self.raw - self.null) / span if span else 0.0


def _runs(labels: Sequence[int]) -> list[tuple[int, int]]:
    """(first, last) row of each run of label 1."""
    runs, start = [], None
    for i, label in enumerate(labels):
        if label and start is None:
            start = i
        elif not label and start is not None:
            runs.append((start, i - 1))
            start = None
    if start is not None:
        runs.append((start, len(labels) - 1))
    return runs
