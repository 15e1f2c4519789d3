"""The windowed-Gaussian baseline: the reference a streaming detector has to beat.

`WindowedGaussian` is the plain baseline that streaming anomaly benchmarks publish beside their
detectors (here after the NAB benchmark's description of it): each channel's mean and standard
deviation over its last ``window`` readings, refreshed every ``step`` readings, and a reading
scored by how unlikely it is under that Gaussian. The score is a rarity, ``-log10`` of the
two-sided tail probability (the largest over the channels), so the same target false-alarm rate
sets its threshold as it sets the online detector's: ``-log10(rate)``.

`BaselineDetector` runs one per asset with the contract `evaluate` needs (``process``,
``warming``, ``unfit``). It is for evaluation only: `edgewatch evaluate` prints its row beside
the online detector's, on the same records, at the same alarm rate.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping

import numpy as np

from edgewatch.errors import ConfigError
from edgewatch.operators.base import ModelInfo, Scored
from edgewatch.operators.spot import MAX_RARITY
from edgewatch.records import SensorRecord

__all__ = ["BASELINE", "STEP", "WINDOW", "BaselineDetector", "WindowedGaussian"]

#: The baseline's name in results and detections.
BASELINE = "windowed-gaussian"
#: Its defaults, as the benchmark's baseline runs it: readings in the window, refresh interval.
WINDOW, STEP = 6_400, 100
_SQRT2 = math.sqrt(2.0)
_MIN_P = 10.0**-MAX_RARITY


class WindowedGaussian:
    """One asset's baseline (River's contract: ``score_one`` before ``learn_one``)."""

    def __init__(self, window: int = WINDOW, step: int = STEP, warmup: int = 50) -> None:
        if not 2 <= warmup <= window or not 1 <= step <= window:
            raise ConfigError.invalid(
                "window/step/warmup", "need 2 <= warmup <= window and 1 <= step <= window",
                (window, step, warmup),
            )  # fmt: skip
        self.window, self.step, self.warmup = window, step, warmup
        self.n = 0
        self._values: dict[str, deque[float]] = {}
        self._fit: dict[str, tuple[float, float]] = {}  # channel -> (mean, sd)

    @property
    def ready(self) -> bool:
        return self.n >= self.warmup

    def score_one(self, x: Mapping[str, float]) -> float:
        worst = 0.0
        for channel, value in x.items():
            fit = self._fit.get(channel)
            if fit is None:
                continue
            mean, sd = fit
            if sd > 0.0:
                p = math.erfc(abs(value - mean) / sd / _SQRT2)
                rarity = -math.log10(max(p, _MIN_P))
            else:
                rarity = 0.0 if value == mean else MAX_RARITY
            worst = max(worst, rarity)
        return worst

    def learn_one(self, x: Mapping[str, float]) -> None:
        self.n += 1
        refresh = self.n <= self.step or self.n % self.step == 0
        for channel, value in x.items():
            values = self._values.get(channel)
            if values is None:
                values = self._values[channel] = deque(maxlen=self.window)
            values.append(value)
            if refresh and len(values) >= 2:
                held = np.fromiter(values, dtype=np.float64, count=len(values))
                self._fit[channel] = (float(held.mean()), float(held.std()))


class BaselineDetector:
    """`WindowedGaussian` per asset, decided at ``rarity >= -log10(rate)``."""

    def __init__(self, rate: float, window: int = WINDOW, step: int = STEP) -> None:
        if not 0.0 < rate < 1.0:
            raise ConfigError.invalid("rate", "must be in (0, 1)", rate)
        self.threshold = -math.log10(rate)
        self.window, self.step = window, step
        self.info = ModelInfo(BASELINE, f"{BASELINE}-{window}-{step}", self.threshold)
        self.assets: dict[str, WindowedGaussian] = {}
        self.warming = 0
        self.unfit = 0  # any channels fit

    def process(self, batch: list[SensorRecord]) -> list[Scored]:
        out: list[Scored] = []
        for record in batch:
            scorer = self.assets.get(record.asset)
            if scorer is None:
                scorer = self.assets[record.asset] = WindowedGaussian(self.window, self.step)
            ready = scorer.ready
            rarity = scorer.score_one(record.values)
            scorer.learn_one(record.values)
            if ready:
                decision = rarity >= self.threshold
                out.append(Scored(record, rarity, decision, model=self.info))
            else:
                self.warming += 1
        return out
