"""`LatencyHistogram`: a Prometheus histogram fed a whole batch at a time, with percentiles.

prometheus-client's Histogram takes one observation per call, which costs a lock and a Python call
per record on the hot path. This one bins a numpy array per batch and keeps, beside the exposed
Prometheus buckets, fine log-spaced bins (about 2.3% wide) from which p50/p95/p99 are estimated
in bounded memory however long the process runs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

import numpy as np
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

__all__ = ["LATENCY_BUCKETS", "LatencyHistogram"]

#: Bucket upper bounds (seconds) exposed to Prometheus for latency histograms.
LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)
_FINE = np.logspace(-6, 3, num=901)  # 1 us .. 1000 s, 100 bins a decade


class LatencyHistogram(Collector):
    """Thread-safe; register it once with ``registry.register(hist)``."""

    def __init__(
        self,
        name: str,
        documentation: str,
        buckets: Sequence[float] = LATENCY_BUCKETS,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.bounds = np.asarray(buckets, dtype=np.float64)
        self._buckets = np.zeros(len(self.bounds) + 1, dtype=np.int64)  # last: +Inf
        self._fine = np.zeros(len(_FINE) + 1, dtype=np.int64)
        self._sum = 0.0
        self._lock = threading.Lock()
        if registry is not None:
            registry.register(self)

    def observe_many(self, seconds: np.ndarray) -> None:
        if seconds.size == 0:
            return
        coarse = np.bincount(
            np.searchsorted(self.bounds, seconds, side="left"), minlength=self._buckets.size
        )
        fine = np.bincount(np.searchsorted(_FINE, seconds, side="left"), minlength=self._fine.size)
        total = float(seconds.sum())
        with self._lock:
            self._buckets += coarse
            self._fine += fine
            self._sum += total

    @property
    def count(self) -> int:
        return int(self._buckets.sum())

    @property
    def total(self) -> float:
        """The sum of every observation, in seconds."""
        with self._lock:
            return self._sum

    def percentile(self, q: float) -> float:
        """Estimated q-th percentile (0-100) in seconds; NaN when empty."""
        with self._lock:
            fine = self._fine.copy()
        total = int(fine.sum())
        if total == 0:
            return float("nan")
        index = int(np.searchsorted(np.cumsum(fine), q / 100.0 * total, side="left"))
        if index == 0:
            return float(_FINE[0])
        if index >= len(_FINE):
            return float(_FINE[-1])
        return float(np.sqrt(_FINE[index - 1] * _FINE[index]))  # geometric middle of the bin

    def collect(self) -> Iterator[HistogramMetricFamily]:
        with self._lock:
            cumulative = np.cumsum(self._buckets).tolist()
            total = self._sum
        bounds = [*(repr(float(b)) for b in self.bounds), "+Inf"]
        family = HistogramMetricFamily(self.name, self.documentation)
        family.add_metric([], list(zip(bounds, cumulative, strict=True)), sum_value=total)
        yield family

    def describe(self) -> Iterator[HistogramMetricFamily]:
        yield HistogramMetricFamily(self.name, self.documentation)
