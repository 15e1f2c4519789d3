"""`Gate`: decide which windows wake the model, at a target wake rate, with audit samples.

The threshold is a quantile of the last ``calibration`` prefilter scores (kept sorted, exactly):
a window wakes when its score reaches the threshold computed *before* the score is added (score
before learn). Only the first ``min(100, calibration)`` windows wake regardless, so a short
stream (or a member that just started) is gated from its first hundred windows on.

The target is the share of *all* windows woken, whatever woke them: windows an asset is held
awake for after a detection (``hold``) count against it. The gate tracks the share of windows
it woke for a hold (exponentially weighted over about ``calibration`` windows) and sets the
quantile so that holds plus scores together meet the target; when holds alone use the whole
budget of the long run (``HOLD_HORIZON`` times ``calibration`` windows), new holds are not
granted until they fall below it; a burst of concurrent events may use the whole short-run
budget meanwhile (windows then wake by score again only as holds end). Windows tied at the
threshold (many score 0 while prefilters warm up) wake by a hash of asset and seq at the share
that meets the budget, the same on every run. A slow feedback keeps the share woken by score at
its budget when the rolling window lags the stream (a fleet that warmed up together, a regime
change). ``audit_every = N`` wakes every N-th window the gate would have skipped, so the rate at
which the model flags audited windows measures what the gate misses (audits are extra, by
design).
"""

from __future__ import annotations

import bisect
import math
import zlib
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from edgewatch.errors import ConfigError
from edgewatch.operators import state as snap
from edgewatch.operators.windowing import WindowBatch

__all__ = ["Gate"]

#: Windows that wake regardless while the gate collects its first scores.
WARMUP = 100
#: Step of the feedback that keeps the share woken by score at the budget when the recent scores
#: are unlike the window's (a fleet that just started, a regime change): the budget the quantile
#: is taken at is scaled by exp(FEEDBACK * (budget - woke)) per window.
FEEDBACK = 0.01
#: Holds are refused while they took the whole wake budget over this many calibrations.
HOLD_HORIZON = 10


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
        self.warmup = min(WARMUP, calibration)
        self.seen = 0
        self.woken = 0
        self.audited = 0
        self.hold = hold
        self.held: dict[str, int] = {}  # asset -> windows it stays woken
        self.held_share = 0.0  # share of recent windows woken for a hold
        self.held_long = 0.0  # the same over HOLD_HORIZON calibrations
        self._recent: deque[float] = deque()  # the last `calibration` finite scores, in order
        self._sorted: list[float] = []  # the same, sorted
        self._skipped = 0  # windows skipped since the last audit sample
        self._factor = 1.0  # feedback on the quantile's budget (see FEEDBACK)

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
        """The score from which windows wake (inf while warming up or when disabled: then no
        window counts as anomalous to the prefilter's learning)."""
        return self._cut()[0]

    def _cut(self) -> tuple[float, float]:
        """The threshold, and the share of windows scoring exactly it that wake: ties (many
        windows score 0 while prefilters warm up) are broken so the budget is met exactly."""
        ordered = self._sorted
        budget = min(self._budget() * self._factor, 1.0)
        if self.seen < self.warmup or not ordered or budget <= 0.0:
            return math.inf, 0.0
        n = len(ordered)
        threshold = ordered[min(int((1.0 - budget) * n), n - 1)]
        above = n - bisect.bisect_right(ordered, threshold)
        tied = n - above - bisect.bisect_left(ordered, threshold)
        return threshold, min(max((budget * n - above) / tied, 0.0), 1.0)

    def wakes(self, score: float, key: str | None = None) -> bool:
        """Whether ``score`` reaches the threshold (not counting warm-up, holds or audits); a
        score tied with it wakes by a hash of ``key`` (the window's asset and seq), at the share
        that meets the budget, the same on every run (without a key: it does not)."""
        threshold, share = self._cut()
        if score != threshold:
            return score > threshold
        return key is not None and zlib.crc32(key.encode()) < share * 2**32

    def _budget(self) -> float:
        """The share of windows not held that may wake by their score."""
        rate, held = self.wake_rate, self.held_share
        if rate is None or held >= rate:
            return 0.0
        return (rate - held) / (1.0 - held)

    def _learn(self, score: float, held: bool) -> None:
        self.seen += 1
        a = max(1.0 / self.seen, 1.0 / self.calibration)
        self.held_share += a * (held - self.held_share)
        a = max(1.0 / self.seen, 1.0 / (HOLD_HORIZON * self.calibration))
        self.held_long += a * (held - self.held_long)
        if not math.isfinite(score):
            return
        recent, ordered = self._recent, self._sorted
        if len(recent) == self.calibration:
            del ordered[bisect.bisect_left(ordered, recent.popleft())]
        recent.append(score)
        bisect.insort(ordered, score)

    def decide(self, asset: str, seq: int, score: float) -> tuple[bool, bool, bool]:
        """One window, in stream order: whether it wakes, whether as an audit sample, and
        whether a detection in it may hold the asset awake (holds have used less than the wake
        budget over the long run). The gate must be on."""
        wake = self.seen < self.warmup or self.wakes(score, f"{asset}\x1f{seq}")
        held = self.held
        left = held.get(asset)
        audit = False
        if left is not None:
            wake = True
            if left > 1:
                held[asset] = left - 1
            else:
                del held[asset]
        elif not wake and self.audit_every:
            self._skipped += 1
            if self._skipped >= self.audit_every:
                wake = audit = True
                self._skipped = 0
                self.audited += 1
        if left is None and self.seen >= self.warmup:  # steer towards the budget
            by_score = wake and not audit
            self._factor *= math.exp(FEEDBACK * (self._budget() - by_score))
            self._factor = min(max(self._factor, 0.25), 4.0)
        self.woken += wake
        self._learn(score, left is not None)
        rate = self.wake_rate
        return wake, audit, bool(self.hold) and (rate is None or self.held_long < rate)

    def hold_asset(self, asset: str) -> None:
        """A detection in a window that `decide` said may hold: keep the asset woken."""
        self.held[asset] = self.hold

    def process(self, batch: WindowBatch) -> WindowBatch:
        """`decide` over a batch (holds come from `hold_asset` calls between batches)."""
        n = len(batch)
        if self.wake_rate is None:
            self.seen += n
            self.woken += n
            return batch
        scores = batch.prefilter.tolist() if batch.prefilter is not None else [math.inf] * n
        decided = [
            self.decide(r.asset, r.seq, s) for r, s in zip(batch.records, scores, strict=True)
        ]
        batch.woken = np.array([d[0] for d in decided], dtype=bool)
        batch.audit = np.array([d[1] for d in decided], dtype=bool)
        return batch
