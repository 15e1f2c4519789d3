"""`TailThreshold`: the score above which a target share of normal scores lies, learned online.

Streaming peaks-over-threshold (SPOT; Siffer et al., KDD 2017): once ``init`` scores have been
seen, an initial threshold ``t`` is set at their ``1 - tail`` quantile; the excesses of later
scores over ``t`` (the peaks) follow a generalised Pareto distribution, fitted here by the method
of moments over the newest ``max_peaks`` of them. From the fit, the probability that a normal
score exceeds ``z`` is ``P(z) = (N_t / n) * (1 + gamma (z - t) / sigma) ** (-1 / gamma)``, and the
alarm threshold is the ``z`` with ``P(z) = rate``. This extrapolates the tail beyond the data
seen, which an empirical quantile cannot do for small rates on short streams.

`rarity` maps a score to ``-log10 P(score)`` (a rate of 0.001 is a rarity of 3), extended
linearly below ``t`` so it is monotone over all scores; a score alarms when its rarity reaches
``-log10(rate)``. Scores that alarm are not learned (they are not normal).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from typing import Any

import numpy as np

from edgewatch.errors import ConfigError, StateError
from edgewatch.operators import state as snap

__all__ = ["MAX_RARITY", "TailThreshold"]

#: Rarity is capped here (a probability of 1e-12): beyond it a score is simply extreme.
MAX_RARITY = 12.0
_MIN_PEAKS = 8


class TailThreshold:
    def __init__(
        self, rate: float, init: int = 400, tail: float = 0.05, max_peaks: int = 2_000
    ) -> None:
        if not 0.0 < rate < tail < 0.5:
            rule = "must satisfy 0 < rate < tail < 0.5"
            raise ConfigError.invalid("rate/tail", rule, (rate, tail))
        if init < 2 * _MIN_PEAKS / tail or max_peaks < _MIN_PEAKS:
            raise ConfigError.invalid(
                "init/max_peaks",
                f"init must hold at least {math.ceil(2 * _MIN_PEAKS / tail)} scores at this "
                f"tail, max_peaks at least {_MIN_PEAKS}",
                (init, max_peaks),
            )
        self.rate, self.init, self.tail, self.max_peaks = rate, init, tail, max_peaks
        self.n = 0  # scores learned
        self.n_peaks = 0  # of which above t
        self.t = math.inf  # the initial threshold (inf until `init` scores)
        self.gamma, self.sigma = 0.0, 1.0
        self._first: list[float] = []  # the first `init` scores
        self._peaks: deque[float] = deque(maxlen=max_peaks)
        self._sum = self._sum2 = 0.0  # of the peaks held

    @property
    def ready(self) -> bool:
        return self.n >= self.init

    @property
    def alarm_rarity(self) -> float:
        return -math.log10(self.rate)

    def score_at(self, rarity: float) -> float:
        """The score of the given rarity above the initial threshold (inf until ready)."""
        if not self.ready:
            return math.inf
        ratio = 10.0**-rarity * self.n / max(self.n_peaks, 1)  # P(score | above t)
        g, s = self.gamma, self.sigma
        if ratio >= 1.0:
            return self.t
        if abs(g) < 1e-9:
            return self.t - s * math.log(ratio)
        return self.t + s / g * (math.pow(ratio, -g) - 1.0)

    def rarity(self, z: float) -> float:
        """``-log10`` of the probability that a normal score reaches ``z`` (0 until ready)."""
        if not self.ready:
            return 0.0
        excess = z - self.t
        if not self.n_peaks:  # every score so far tied at t (a constant stream): any rise alarms
            return MAX_RARITY if excess > 0.0 else 0.0
        base = -math.log10(self.n_peaks / self.n)
        if excess <= 0.0:
            return base + excess / (self.sigma * math.log(10.0))
        g, s = self.gamma, self.sigma
        if abs(g) < 1e-9:
            value = base + excess / (s * math.log(10.0))
        else:
            inner = 1.0 + g * excess / s
            value = MAX_RARITY if inner <= 0.0 else base + math.log10(inner) / g
        return min(value, MAX_RARITY)

    def learn_one(self, z: float) -> None:
        """Learn a score (one that alarms counts only as far as a hundredth of the rate)."""
        if not math.isfinite(z):
            return
        if self.n < self.init:
            self._first.append(z)
            self.n += 1
            if self.n == self.init:
                self._start()
            return
        self.n += 1
        if z > self.t:
            # an extreme score counts as a peak, but only as far as a hundredth of the alarm
            # rate, so that one fault does not teach the tail that faults are normal
            self._add(min(z, self.score_at(self.alarm_rarity + 2.0)) - self.t)
            self._fit()

    def _start(self) -> None:
        first = np.sort(np.asarray(self._first))
        self._first = []
        self.t = float(first[-max(_MIN_PEAKS, round(self.tail * len(first))) - 1])
        for excess in (first[first > self.t] - self.t).tolist():
            self._add(excess)  # fewer than planned only where scores tie (a constant stream)
        self._fit()

    def _add(self, excess: float) -> None:
        peaks = self._peaks
        if len(peaks) == peaks.maxlen:
            old = peaks[0]
            self._sum -= old
            self._sum2 -= old * old
        peaks.append(excess)
        self._sum += excess
        self._sum2 += excess * excess
        self.n_peaks += 1

    def _fit(self) -> None:
        """Method-of-moments GPD fit of the peaks: gamma = (1 - m^2/v) / 2,
        sigma = m (1 + m^2/v) / 2 (with mean m and variance v of the excesses)."""
        k = len(self._peaks)
        if k < 2:
            self.gamma, self.sigma = 0.0, max(self._sum / max(k, 1), 1e-12)
            return
        m = self._sum / k
        v = max(self._sum2 / k - m * m, 1e-24)
        ratio = m * m / v
        self.gamma = min(max(0.5 * (1.0 - ratio), -1.0), 0.5)  # -1: uniform; 0.5: heavy
        self.sigma = max(0.5 * m * (1.0 + ratio), 1e-12)

    def state(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "n_peaks": self.n_peaks,
            "t": None if not self.ready else self.t,
            "first": list(self._first),
            "peaks": list(self._peaks),
        }

    def restore(self, saved: Mapping[str, Any], where: str) -> None:
        """Take up `state`'s output; every field is checked (`StateError` names the bad one)."""
        n = snap.integer(saved, "n", where)
        n_peaks = snap.integer(saved, "n_peaks", where, 0, n)
        first = snap.reading(saved, "first", where, missing=False)
        peaks = snap.reading(saved, "peaks", where, missing=False)
        if n < self.init and len(first) != n:
            raise StateError(f"{where}.first holds {len(first)} scores; n is {n}")
        if len(peaks) > self.max_peaks or any(p < 0.0 for p in peaks):
            raise StateError(f"{where}.peaks must hold at most {self.max_peaks} values >= 0")
        self.n, self._first = n, first if n < self.init else []
        self.t = snap.number(saved, "t", where) if n >= self.init else math.inf
        self._peaks.clear()
        self._sum = self._sum2 = 0.0
        for excess in peaks:
            self._add(excess)
        self.n_peaks = max(n_peaks, len(peaks))
        self._fit()
