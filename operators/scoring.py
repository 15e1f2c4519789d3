"""`CardScaler` and `ModelScorer`: scale windows as the model was trained, score them in batches.

The scaler applies the model card's statistics: per asset where the card has the asset (the
simulated fleet), else the card's global statistics. The scorer sends the batch's woken windows
to the model in micro-batches of at most ``batch_size`` and returns a `Scored` item per window.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from time import perf_counter
from typing import Any

import numpy as np

from edgewatch.errors import ConfigError
from operators.base import Scored
from operators.windowing import Window

__all__ = ["CardScaler", "ModelScorer"]


class CardScaler:
    def __init__(self, scaling: Mapping[str, Any]) -> None:
        if scaling.get("mode") not in ("per_asset", "global"):
            raise ConfigError.invalid(
                "scaling.mode", "must be 'per_asset' or 'global'", scaling.get("mode")
            )
        self.mean = np.asarray(scaling["mean"], dtype=np.float64)
        self.std = np.asarray(scaling["std"], dtype=np.float64)
        self.assets = {
            asset: (np.asarray(s["mean"], dtype=np.float64), np.asarray(s["std"], dtype=np.float64))
            for asset, s in scaling.get("assets", {}).items()
        }

    def process(self, batch: list[Window]) -> list[Window]:
        if not batch:
            return batch
        stats = [self.assets.get(w.record.asset, (self.mean, self.std)) for w in batch]
        mean = np.stack([m for m, _ in stats])[:, None, :]
        std = np.stack([s for _, s in stats])[:, None, :]
        scaled = (np.stack([w.values for w in batch]) - mean) / std
        for window, values in zip(batch, scaled, strict=True):
            window.values = values
        return batch


class ModelScorer:
    """``score`` maps a (n, seq_len, channels) float32 array to n probabilities."""

    def __init__(self, score: Callable[[np.ndarray], np.ndarray], batch_size: int = 256) -> None:
        if batch_size < 1:
            raise ConfigError.invalid("batch_size", "must be at least 1", batch_size)
        self.score = score
        self.batch_size = batch_size
        self.invocations = 0  # model calls (micro-batches)
        self.windows = 0  # windows scored
        self.seconds = 0.0  # wall time inside the model

    def process(self, batch: list[Window]) -> list[Scored]:
        """Scores the woken windows; a window the gate did not wake scores 0.0."""
        woken = [w for w in batch if w.woken]
        scores = np.zeros(len(woken))
        if woken:
            x = np.stack([w.values for w in woken]).astype(np.float32)
            for start in range(0, len(woken), self.batch_size):
                began = perf_counter()
                scores[start : start + self.batch_size] = self.score(
                    x[start : start + self.batch_size]
                )
                self.seconds += perf_counter() - began
                self.invocations += 1
            self.windows += len(woken)
        found = iter(scores.tolist())
        return [
            Scored(
                w.record,
                next(found) if w.woken else 0.0,
                prefilter=w.prefilter,
                woken=w.woken,
                audit=w.audit,
                values=w.values,
            )
            for w in batch
        ]
