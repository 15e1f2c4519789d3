"""`OnlineScorer`: an unsupervised, self-calibrating detector for one asset's stream.

No labels, no training step, any channels. For each reading:

1. **Residual per channel.** Each channel predicts its next value with an exponentially weighted
   level (``level_rate``); the residual is scaled by the channel's typical absolute residual (an EW
   mean with ``scale_rate``, each residual clipped to ``clip`` times it), so channels in any units
   compare. A spike, a step or a change of slope leaves a large scaled residual; a drift slow
   enough for the level to follow does not.
2. **Channels combined.** The raw score is the largest scaled residual over the channels (a fault
   usually shows in one or a few); the channels that explain it are kept for the alarm.
3. **Normalised against the asset's own history** (an anomaly likelihood, as HTM-style detectors
   compute it): the mean raw score of the last ``smooth`` readings, as a z-score against the EW
   mean and variance of that average over about ``1 / history_rate`` readings. An asset whose
   residuals are always large is not always anomalous.
4. **Threshold from a target false-alarm rate**: a `TailThreshold` (streaming peaks over
   threshold) learns the tail of the z-scores and alarms where a normal reading would reach the
   score with probability ``rate``. The z-scores of all assets are alike, so a ``fleet`` tail
   fed by every asset stands in for an asset's own until that is learned: a short-lived asset
   (an engine's few hundred cycles) scores after its ``2 * warmup`` readings. The score
   reported is that rarity, ``-log10`` of the probability (``3`` = one normal reading in 1,000
   scores this high); the threshold is ``-log10(rate)``.

The first ``warmup`` readings only learn the levels and scales, the next ``warmup`` the history
of scores as well, the next ``calibration`` the tail as well; only then does the asset score
(`ready`). Each score comes before its reading is learned (River's contract).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from typing import Any

from edgewatch.errors import ConfigError, StateError
from edgewatch.operators import state as snap
from edgewatch.operators.spot import TailThreshold

__all__ = ["OnlineScorer", "ScorerParams"]

MAX_CHANNELS = 256


class ScorerParams:
    """The scorer's settings, shared by every asset's scorer (validated once)."""

    __slots__ = (
        "calibration", "clip", "history_rate", "level_rate", "rate", "scale_rate", "smooth",
        "warmup",
    )  # fmt: skip

    def __init__(
        self,
        rate: float = 0.002,
        *,
        level_rate: float = 0.3,
        scale_rate: float = 0.01,
        clip: float = 5.0,
        smooth: int = 3,
        history_rate: float = 0.002,
        warmup: int = 50,
        calibration: int = 1_000,
    ) -> None:
        for name, value in (
            ("level_rate", level_rate),
            ("scale_rate", scale_rate),
            ("history_rate", history_rate),
        ):
            if not 0.0 < value < 1.0:
                raise ConfigError.invalid(name, "must be in (0, 1)", value)
        if not clip > 0.0 or not 1 <= smooth <= 1_000 or warmup < 2:
            raise ConfigError.invalid(
                "clip/smooth/warmup", "must be > 0, in [1, 1000] and >= 2", (clip, smooth, warmup)
            )
        TailThreshold(rate, calibration)  # checks rate and calibration
        self.rate, self.level_rate, self.scale_rate, self.clip = rate, level_rate, scale_rate, clip
        self.smooth, self.history_rate = smooth, history_rate
        self.warmup, self.calibration = warmup, calibration


class OnlineScorer:
    """One asset's detector; see the module doc. ``score_one`` then ``learn_one``."""

    def __init__(
        self, params: ScorerParams, fleet: TailThreshold | None = None, *, z_scores: bool = False
    ) -> None:
        self.p = params
        self.fleet = fleet
        self.z_scores = z_scores  # score the z-score itself, not its rarity (a prefilter's rank)
        self.n = 0
        self.channels: dict[str, list[float]] = {}  # channel -> [level, scale, readings]
        self.recent: deque[float] = deque(maxlen=params.smooth)
        self.mean, self.var = 0.0, 0.0  # of the smoothed raw score
        self.tail = TailThreshold(params.rate, params.calibration)
        self.residuals: dict[str, float] = {}  # of the reading scored last
        self._scored: tuple[Mapping[str, float], float, float] | None = None  # (x, raw, z)

    @property
    def _scale(self) -> TailThreshold:
        """The asset's own tail once learned, before that the fleet's (if any and learned)."""
        fleet = self.fleet
        if self.tail.ready or fleet is None or not fleet.ready:
            return self.tail
        return fleet

    @property
    def ready(self) -> bool:
        return self.n >= 2 * self.p.warmup and self._scale.ready

    @property
    def threshold(self) -> float:
        return self.tail.alarm_rarity

    def _raw(self, x: Mapping[str, float]) -> float:
        worst = 0.0
        residuals = self.residuals = {}
        warm = self.p.warmup
        for channel, value in x.items():
            st = self.channels.get(channel)
            if st is None or st[2] < warm:
                continue
            level, scale = st[0], st[1]
            floor = 1e-6 * max(abs(level), 1.0)
            r = abs(value - level) / max(scale, floor)
            residuals[channel] = r
            worst = max(worst, r)
        return worst

    def _z(self, raw: float) -> float:
        recent = self.recent
        smoothed = (sum(recent) + raw) / (len(recent) + 1)
        sd = math.sqrt(self.var)
        floor = 1e-9 + 1e-6 * abs(self.mean)
        return (smoothed - self.mean) / max(sd, floor)

    def score_one(self, x: Mapping[str, float]) -> float:
        """The reading's rarity (see the module doc); 0.0 until `ready`."""
        if self.n < self.p.warmup:
            return 0.0
        raw = self._raw(x)
        z = self._z(raw)
        self._scored = (x, raw, z)
        if self.n < 2 * self.p.warmup:
            return 0.0
        return z if self.z_scores else self._scale.rarity(z)

    def top(self, k: int) -> tuple[str, ...]:
        """The ``k`` channels with the largest scaled residuals in the reading scored last."""
        ranked = sorted(self.residuals.items(), key=lambda item: -item[1])
        return tuple(name for name, _ in ranked[:k])

    def learn_one(self, x: Mapping[str, float]) -> None:
        p = self.p
        if self.n >= p.warmup:
            scored = self._scored
            if scored is not None and scored[0] is x:  # scored just now: reuse
                raw, z = scored[1], scored[2]
            else:
                raw = self._raw(x)
                z = self._z(raw)
            self._scored = None
            if self.n >= 2 * p.warmup:
                self.tail.learn_one(z)
                if self.fleet is not None:
                    self.fleet.learn_one(z)
            self._learn_history(raw)
        self.n += 1
        for channel, value in x.items():
            st = self.channels.get(channel)
            if st is None:
                if len(self.channels) < MAX_CHANNELS:
                    self.channels[channel] = [value, 0.0, 1.0]
                continue
            r = value - st[0]
            st[0] += p.level_rate * r
            st[2] += 1.0
            if st[2] > p.warmup:
                r = min(abs(r), p.clip * st[1])
            # a plain mean of the first residuals, then exponentially weighted
            st[1] += max(p.scale_rate, 1.0 / st[2]) * (abs(r) - st[1])

    def _learn_history(self, raw: float) -> None:
        self.recent.append(raw)
        smoothed = sum(self.recent) / len(self.recent)
        k = self.n - self.p.warmup + 1  # smoothed scores learned, this one included
        if k > self.p.warmup:  # a burst moves the history at most 3 sd per reading
            smoothed = min(smoothed, self.mean + 3.0 * math.sqrt(self.var))
        a = max(self.p.history_rate, 1.0 / k)  # a plain mean and variance at first
        d = smoothed - self.mean
        self.mean += a * d
        self.var = (1.0 - a) * (self.var + a * d * d)

    def state(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "channels": {c: list(st) for c, st in self.channels.items()},
            "recent": list(self.recent),
            "history": [self.mean, self.var],
            "tail": self.tail.state(),
        }

    def restore(self, saved: Mapping[str, Any], where: str) -> None:
        """Take up `state`'s output; every field is checked (`StateError` names the bad one)."""
        n = snap.integer(saved, "n", where)
        found = snap.mapping(saved, "channels", where)
        if len(found) > MAX_CHANNELS:
            raise StateError(f"{where}.channels holds {len(found)}; at most {MAX_CHANNELS}")
        channels = {}
        for c in found:
            level, scale, count = snap.reading(found, c, f"{where}.channels", 3, missing=False)
            if scale < 0.0 or count < 0.0:
                raise StateError(f"{where}.channels.{c:.40} has a negative scale or count")
            channels[str(c)] = [level, scale, count]
        recent = snap.reading(saved, "recent", where, missing=False)[-self.p.smooth :]
        mean, var = snap.reading(saved, "history", where, 2, missing=False)
        if var < 0.0:
            raise StateError(f"{where}.history has a negative variance")
        self.tail.restore(snap.mapping(saved, "tail", where), f"{where}.tail")
        self.n, self.channels, self.mean, self.var = n, channels, mean, var
        self.recent.clear()
        self.recent.extend(recent)
