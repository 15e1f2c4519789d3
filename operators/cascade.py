"""`Cascade`: the detector the pipeline runs, composed of the small operators.

records -> `CountWindows` -> `CardScaler` (or `AssetScaler`) -> `Prefilter` -> `Gate` ->
`ModelScorer` (woken windows only) -> `Threshold` -> `Explain` -> one `Scored` per window. With
the gate off the prefilter is skipped and every window is woken. With a `SentinelGate` instead,
a small model scores every window and wakes the full one only where it is unsure; its score
stands for the windows it does not wake. Records that complete no window
yet (an asset's warm-up, or between strides) yield nothing and are counted in
``windows.warming``. `from_card` builds one from a model card and a scoring function.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any

import numpy as np

from edgewatch.errors import ConfigError, StateError
from edgewatch.operators.assetscaler import AssetScaler
from edgewatch.operators.base import Scored
from edgewatch.operators.explain import Explain
from edgewatch.operators.gate import Gate
from edgewatch.operators.prefilter import LearnPolicy, Prefilter, make_detector
from edgewatch.operators.scoring import INLINE, CardScaler, ModelScorer, scored
from edgewatch.operators.sentinel import SentinelGate
from edgewatch.operators.threshold import Threshold
from edgewatch.operators.windowing import CountWindows, WindowBatch
from edgewatch.records import SensorRecord

__all__ = ["Cascade"]


class Cascade:
    def __init__(
        self,
        windows: CountWindows,
        scaler: CardScaler | AssetScaler,
        prefilter: Prefilter,
        gate: Gate,
        scorer: ModelScorer,
        threshold: Threshold,
        explain: Explain,
        sentinel: SentinelGate | None = None,
    ) -> None:
        self.windows, self.scaler, self.prefilter, self.gate = windows, scaler, prefilter, gate
        self.sentinel = sentinel
        self.scorer, self.threshold, self.explain = scorer, threshold, explain
        self._unsettled: Callable[[], None] | None = None  # see `_settle`

    @classmethod
    def from_card(
        cls,
        card: Mapping[str, Any],
        score: Callable[[np.ndarray], np.ndarray],
        *,
        prefilter: str = "ewzscore",
        learn: LearnPolicy = "normal",
        relearn_after: int = 500,
        wake_rate: float | None = None,
        audit_every: int = 0,
        hold: int = 100,
        calibration: int = 5_000,
        stride: int = 1,
        batch_size: int = 256,
        threshold: float | None = None,
        top_channels: int = 3,
        scaling: str = "card",
        seed: int = 42,
        sentinel: Callable[[np.ndarray], np.ndarray] | None = None,
        confidence: float = 0.9,
    ) -> Cascade:
        """``threshold`` None = the card's (chosen on validation when the model was trained);
        ``sentinel`` (a scoring function like ``score``) replaces the prefilter gate."""
        if sentinel is not None and wake_rate is not None:
            raise ConfigError("a sentinel gate and a prefilter wake rate exclude each other")
        channels = list(card["channels"])
        gate = Gate(wake_rate, audit_every, calibration, hold)
        return cls(
            CountWindows(channels, int(card["seq_len"]), stride, card.get("pad_start") is True),
            _scaler(scaling, card, len(channels)),
            Prefilter(
                make_detector(prefilter, channels, seed),
                channels,
                learn=learn,
                relearn_after=relearn_after,
                gate=gate,
            ),
            gate,
            ModelScorer(score, batch_size),
            Threshold(float(card["threshold"]) if threshold is None else threshold),
            Explain(channels, top_channels),
            None if sentinel is None else SentinelGate(sentinel, confidence),
        )

    def __len__(self) -> int:
        """Assets with state."""
        return len(self.windows)

    @property
    def warming(self) -> int:
        """Records so far that completed no window."""
        return self.windows.warming

    @property
    def unfit(self) -> int:
        """Records so far of assets that lack a channel of the model."""
        return self.windows.unfit

    def take_unfit(self) -> dict[str, list[str]]:
        """Assets newly found not to fit the model, with the channels each lacks."""
        return self.windows.take_unfit()

    @property
    def invocations(self) -> int:
        """Model calls (micro-batches) so far."""
        return self.scorer.invocations

    @property
    def model_seconds(self) -> float:
        """Wall time spent inside the model so far."""
        return self.scorer.seconds

    @property
    def model_windows(self) -> int:
        """Windows the model has scored so far."""
        return self.scorer.windows

    @property
    def threshold_value(self) -> float:
        return self.threshold.value

    def evict(self, assets: Iterable[str]) -> None:
        """Drop the state of ``assets`` (their partitions moved to another member)."""
        assets = list(assets)
        self.windows.evict(assets)
        self.scaler.evict(assets)
        self.prefilter.evict(assets)
        self.gate.evict(assets)

    def state_of(self, asset: str) -> dict[str, Any] | None:
        """The asset's state in every stage that keeps some, JSON-ready (None: no state)."""
        if asset not in self.windows.states:
            return None
        return {
            "windows": self.windows.state_of(asset),
            "scaler": self.scaler.state_of(asset),
            "prefilter": self.prefilter.state_of(asset),
            "gate": self.gate.state_of(asset),
        }

    def restore(self, asset: str, saved: Mapping[str, Any]) -> None:
        """Take up the asset's state from `state_of`; `StateError` (and no state) if it does not
        fit this cascade."""
        try:
            windows, prefilter, gate = saved["windows"], saved.get("prefilter"), saved.get("gate")
        except (KeyError, TypeError, AttributeError) as exc:
            raise StateError(f"detector state of {asset!r} is incomplete: {exc!r}") from exc
        self.evict([asset])
        try:
            self.windows.restore(asset, windows)
            if prefilter is not None:
                self.prefilter.restore(asset, prefilter)
            if gate is not None:
                self.gate.restore(asset, gate)
            if saved.get("scaler") is not None:
                self.scaler.restore(asset, saved["scaler"])
        except StateError:
            self.evict([asset])
            raise

    def submit(self, batch: list[SensorRecord]) -> Callable[[], list[Scored]]:
        """Window, scale and gate ``batch`` now and start the model on it; the returned function
        waits for the model and finishes the batch (threshold, explanations). Submit the next
        batch before collecting this one to overlap the model with the caller's work."""
        windows = self.scaler.process(self.windows.process(batch))
        sentinel = self.sentinel
        if sentinel is not None:  # both models, the sentinel first
            if len(windows) < INLINE:
                found = self._sentinel(sentinel, windows)
                return self._finish(windows, lambda: found)
            work = partial(self._sentinel, sentinel)
            return self._finish(windows, self.scorer.spawn(work, windows).result)
        if self.gate.wake_rate is None:  # with the gate off nothing reads the prefilter
            return self._finish(windows, self.scorer.submit(windows))
        return self._finish(windows, self._gated(windows))

    def _sentinel(self, sentinel: SentinelGate, windows: WindowBatch) -> list[Scored]:
        """The sentinel on every window, then the model on those it woke."""
        woken = sentinel.process(windows).woken
        model = np.zeros(len(windows))
        if woken.any():
            model[woken] = self.scorer.run(windows.values[woken].astype(np.float32))
        return scored(windows, model)

    def _gated(self, windows: WindowBatch) -> Callable[[], list[Scored]]:
        """Prefilter and gate window by window, in stream order, so that a detection holds its
        asset awake from the asset's next window on, whatever the batch: before a window of an
        asset with a woken window still unscored, the model scores the woken windows so far.
        The rest are scored on the worker thread; the next batch waits for them first."""
        self._settle()
        n, prefilter, gate = len(windows), self.prefilter, self.gate
        model = np.zeros(n)
        scores, woken, audit, may_hold = [0.0] * n, [False] * n, [False] * n, [False] * n
        pending: list[int] = []
        waiting: set[str] = set()
        newest = windows.values[:, -1].tolist()
        for i, record in enumerate(windows.records):
            asset = record.asset
            if asset in waiting:
                self._hold(windows, pending, may_hold, model, self.scorer.run)
                pending, waiting = [], set()
            score = scores[i] = prefilter.score_learn(asset, newest[i])
            woken[i], audit[i], may_hold[i] = gate.decide(asset, record.seq, score)
            if woken[i]:
                pending.append(i)
                waiting.add(asset)
        windows.prefilter = np.array(scores, dtype=np.float64)
        windows.woken, windows.audit = np.array(woken, dtype=bool), np.array(audit, dtype=bool)
        future = self.scorer.start(windows.values[pending].astype(np.float32)) if pending else None
        done = future is None

        def settle() -> None:  # once, by whichever comes first: this collect or the next batch
            nonlocal done
            if not done and future is not None:
                done = True
                self._hold(windows, pending, may_hold, model, lambda _: future.result())

        def collect() -> list[Scored]:
            settle()
            return scored(windows, model)

        self._unsettled = settle
        return collect

    def _settle(self) -> None:
        """Apply the holds of the last batch's windows scored on the worker thread (once)."""
        settle, self._unsettled = self._unsettled, None
        if settle is not None:
            settle()

    def _hold(
        self,
        windows: WindowBatch,
        at: list[int],
        may_hold: list[bool],
        model: np.ndarray,
        run: Callable[[np.ndarray], np.ndarray],
    ) -> None:
        """Score the windows ``at`` into ``model``; each detection that may hold holds."""
        model[at] = run(windows.values[at].astype(np.float32))
        cut, tracked = self.threshold.value, self.windows.states
        for i in at:
            asset = windows.records[i].asset
            if may_hold[i] and model[i] >= cut and asset in tracked:  # not evicted meanwhile
                self.gate.hold_asset(asset)

    def _finish(
        self, windows: WindowBatch, scores: Callable[[], list[Scored]]
    ) -> Callable[[], list[Scored]]:
        stands = self.sentinel is not None  # the sentinel's score, where it did not wake

        def collect() -> list[Scored]:
            found = scores()
            if stands:
                for item in found:
                    if not item.woken and item.prefilter is not None:
                        item.score = item.prefilter
            scored = self.threshold.process(found)
            for i, item in enumerate(scored):  # only anomalous windows are explained
                if item.decision:
                    item.values = windows.values[i]
            self.explain.process(scored)
            return scored

        return collect

    def process(self, batch: list[SensorRecord]) -> list[Scored]:
        return self.submit(batch)()


def _scaler(scaling: str, card: Mapping[str, Any], channels: int) -> CardScaler | AssetScaler:
    """``card``: the card's training statistics; ``asset``: each asset's own (`AssetScaler`)."""
    if scaling == "card":
        return CardScaler(card["scaling"])
    if scaling == "asset":
        return AssetScaler(channels)
    raise ConfigError.invalid("scaling", "must be 'card' or 'asset'", scaling)
