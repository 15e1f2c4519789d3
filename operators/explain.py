"""`Explain`: name the channels behind each anomalous decision.

The window's readings are scaled by the training statistics, so a channel's newest scaled value
is how many training standard deviations it sits from its training mean. The channels with the
largest absolute deviation, at most ``top``, are the explanation (most deviant first).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from edgewatch.errors import ConfigError
from edgewatch.operators.base import Scored

__all__ = ["Explain"]


class Explain:
    def __init__(self, channels: Sequence[str], top: int = 3) -> None:
        if top < 1:
            raise ConfigError.invalid("top", "must be at least 1", top)
        self.channels = list(channels)
        self.top = min(top, len(self.channels))

    def process(self, batch: list[Scored]) -> list[Scored]:
        flagged = [item for item in batch if item.decision and item.values is not None]
        if not flagged:
            return batch
        newest = np.abs(np.stack([item.values[-1] for item in flagged if item.values is not None]))
        order = np.argsort(-newest, axis=1, kind="stable")[:, : self.top]
        names = self.channels
        for item, row in zip(flagged, order.tolist(), strict=True):
            item.top_channels = tuple(names[j] for j in row)
        return batch
