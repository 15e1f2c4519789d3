"""`Threshold`: decide anomalous when the score reaches a fixed threshold."""

from __future__ import annotations

import math

from edgewatch.errors import ConfigError
from edgewatch.operators.base import Scored

__all__ = ["Threshold"]


class Threshold:
    def __init__(self, value: float) -> None:
        if not math.isfinite(value):
            raise ConfigError.invalid("threshold", "must be a finite number", value)
        self.value = value

    def process(self, batch: list[Scored]) -> list[Scored]:
        value = self.value
        for item in batch:
            item.decision = item.score >= value
        return batch
