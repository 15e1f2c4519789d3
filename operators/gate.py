"""`Gate`: decide which windows wake the model, at a target wake rate, with audit samples.

The threshold is the ``1 - wake_rate`` quantile of the last ``calibration`` prefilter scores
(river's exact `RollingQuantile`; its P² estimator of all scores settled far from the true
quantile on skewed scores): a window is woken when its score reaches the threshold computed
*before* the score is added (score before learn). Until ``calibration`` scores have been seen
every window is woken. ``audit_every = N`` wakes every N-th window the gate would have
skipped, so the rate at which the model flags audited windows measures what the gate misses.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from river import stats

from edgewatch.errors import ConfigError
from edgewatch.operators import state as snap
from edgewatch.operators.windowing import WindowBatch

__all__ = ["Gate"]


class Gate:
    """``wake_rate=None`` disables the gate: every window is woken."""

    def __init__(
        self,
        wake_rate: float | None,
        audit_every: int = 0,
        calibration: int = 5_000,
        hold: int = 0,
    ) -> None:
        if wake_rate is not None and not 0.0 < wake_rate <= 1.0:
            raise ConfigError.invalid(
                "wake_rate", "must be in (0, 1], or unset to disable", wake_rate
            )
        if audit_every < 0 or calibration < 1 or hold < 0:
            raise ConfigError.invalid(
                "audit_every/calibration/hold",
                "must be >= 0, >= 1 and >= 0",
                (audit_every, calibration, hold),
            )
        self.wake_rate = wake_rate
        self.audit_every = audit_every
        self.calibration = calibration
        self.quantile = (
            stats.RollingQuantile(1.0 - wake_rate, window_size=calibration)
            if wake_rate is not None
            else None
        )
        self.seen = 0
        self.woken = 0
        self.audited = 0
        self.hold = hold
        self.held: dict[str, int] = {}  # asset -> windows it stays woken
        self._skipped = 0  # windows skipped since the last audit sample

    def confirm(self, assets: Iterable[str]) -> None:
        """The model found these assets anomalous: keep them woken for ``hold`` windows."""
        if self.hold:
            for asset in assets:
                self.held[asset] = self.hold

    def evict(self, assets: Iterable[str]) -> None:
        for asset in assets:
            self.held.pop(asset, None)

    def state_of(self, asset: str) -> dict[str, Any] | None:
        """The asset's hold, if any (the calibration is the member's, not the asset's)."""
        left = self.held.get(asset)
        return None if left is None else {"held": left}

    def restore(self, asset: str, saved: Mapping[str, Any]) -> None:
        self.held[asset] = snap.integer(saved, "held", f"gate state of {asset!r}", 0, self.hold)

    @property
    def threshold(self) -> float:
        """The score from which windows wake (inf while calibrating or when disabled: then no
        window counts as anomalous to the prefilter's learning)."""
        if self.quantile is None or self.seen < self.calibration:
            return math.inf
        value = self.quantile.get()
        return math.inf if value is None else float(value)

    def process(self, batch: WindowBatch) -> WindowBatch:
        n = len(batch)
        if self.quantile is None:
            self.seen += n
            self.woken += n
            return batch
        scores = batch.prefilter.tolist() if batch.prefilter is not None else [math.inf] * n
        woken, audit = [False] * n, [False] * n
        held, quantile = self.held, self.quantile
        for i, (record, score) in enumerate(zip(batch.records, scores, strict=True)):
            wake = self.seen < self.calibration or score >= self.threshold
            left = held.get(record.asset)
            if left is not None:
                wake = True
                if left > 1:
                    held[record.asset] = left - 1
                else:
                    del held[record.asset]
            if not wake and self.audit_every:
                self._skipped += 1
                if self._skipped >= self.audit_every:
                    wake = audit[i] = True
                    self._skipped = 0
                    self.audited += 1
            woken[i] = wake
            self.woken += wake
            if math.isfinite(score):
                quantile.update(score)
            self.seen += 1
        batch.woken = np.array(woken, dtype=bool)
        batch.audit = np.array(audit, dtype=bool)
        return batch
