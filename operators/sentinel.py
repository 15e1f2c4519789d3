"""`SentinelGate`: a small model in front of the full one, answering where it is sure.

The end-edge collaboration of the seed papers: a sentinel network (the shipped
``<dataset>-sentinel_lstm-int8`` artifacts: one LSTM layer of 8 units, static INT8 on ONNX
Runtime, about a sixth of the full model's size) scores every window. Where it is confident,
``|p - 0.5| x 2 >= confidence``, its probability stands as the window's score; elsewhere the
window wakes the full model, whose score replaces it. The card's threshold then decides both
alike. The sentinel sees every window, so nothing has to be held awake, and its scores, like the
model's, do not depend on the batch, so neither do its decisions.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from edgewatch.errors import ConfigError
from edgewatch.operators.windowing import WindowBatch

__all__ = ["SentinelGate"]


class SentinelGate:
    """``score`` maps (n, seq_len, channels) float32 windows to n probabilities."""

    def __init__(self, score: Callable[[np.ndarray], np.ndarray], confidence: float = 0.9) -> None:
        if not 0.0 <= confidence <= 1.0:
            raise ConfigError.invalid("confidence", "must be in [0, 1]", confidence)
        self.score = score
        self.confidence = confidence
        self.seen = 0
        self.woken = 0

    def process(self, batch: WindowBatch) -> WindowBatch:
        """Fill ``prefilter`` with the sentinel's probabilities and ``woken`` where it is unsure."""
        n = len(batch)
        p = self.score(batch.values.astype(np.float32)) if n else np.empty(0)
        batch.prefilter = np.asarray(p, dtype=np.float64).reshape(n)
        batch.woken = np.abs(batch.prefilter - 0.5) * 2.0 < self.confidence
        self.seen += n
        self.woken += int(batch.woken.sum())
        return batch
