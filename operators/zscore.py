"""`EWZScore`: an exponentially weighted z-score detector.

The first, simplest detector: per channel, the distance of the value from its exponentially
weighted mean in units of the exponentially weighted standard deviation; the score of a reading is
the largest over its channels. Cheap and label-free; the model cascade supersedes it.

The statistics are river.stats' ``EWMean`` and ``EWVar`` (variance = EW mean of x^2 - (EW mean)^2,
both starting at the first value), kept as plain floats: the results are bit-identical to River's
(tested), and the state is two numbers per channel that a changelog snapshot carries as data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from edgewatch.errors import ConfigError, StateError
from edgewatch.operators import state as snap

__all__ = ["EWZScore"]

MAX_CHANNELS = 256


class EWZScore:
    """River-style detector: ``score_one`` then ``learn_one``; higher score = more anomalous.

    ``fading_factor`` is River's: closer to 1 adapts faster. Until ``warmup`` readings have been
    learned the score is 0.0, so a cold start raises no alarms.
    """

    def __init__(self, fading_factor: float = 0.01, warmup: int = 50) -> None:
        if not 0.0 < fading_factor < 1.0:
            raise ConfigError.invalid("fading_factor", "must be in (0, 1)", fading_factor)
        if warmup < 2:
            raise ConfigError.invalid("warmup", "must be at least 2", warmup)
        self.fading_factor = fading_factor
        self.warmup = warmup
        self.n = 0
        #: per channel: [EW mean, EW mean of squares]
        self._stats: dict[str, list[float]] = {}

    def score_one(self, x: Mapping[str, float]) -> float:
        if self.n < self.warmup:
            return 0.0
        worst = 0.0
        for channel, value in x.items():
            pair = self._stats.get(channel)
            if pair is None:
                continue  # a channel never seen has no baseline yet
            mean = pair[0]
            var = pair[1] - mean * mean  # can come out a hair below 0
            if var > 0.0:
                worst = max(worst, abs(value - mean) / math.sqrt(var))
        return worst

    def learn_one(self, x: Mapping[str, float]) -> None:
        self.n += 1
        a = self.fading_factor
        b = 1.0 - a
        for channel, value in x.items():
            pair = self._stats.get(channel)
            if pair is None:
                self._stats[channel] = [value, value * value]
            else:
                pair[0] = a * value + b * pair[0]
                pair[1] = a * (value * value) + b * pair[1]

    def state(self) -> dict[str, Any]:
        """The learned statistics as data (JSON-ready), for `restore`."""
        return {"n": self.n, "stats": {c: list(pair) for c, pair in self._stats.items()}}

    def restore(self, saved: Mapping[str, Any], where: str) -> None:
        """Take up `state`'s output; every field is checked (`StateError` names the bad one)."""
        n = snap.integer(saved, "n", where)
        found = snap.mapping(saved, "stats", where)
        if len(found) > MAX_CHANNELS:
            raise StateError(f"{where}.stats holds {len(found)} channels; at most {MAX_CHANNELS}")
        stats: dict[str, list[float]] = {}
        for channel in found:  # [mean, mean of squares]
            stats[channel] = snap.reading(found, channel, f"{where}.stats", 2, missing=False)
        self.n, self._stats = n, stats
