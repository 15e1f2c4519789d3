"""`Cascade`: the detector the pipeline runs, composed of the small operators.

records -> `CountWindows` -> `CardScaler` (or `AssetScaler`) -> `Prefilter` -> `Gate` ->
`ModelScorer` (woken windows only) -> `Threshold` -> `Explain` -> one `Scored` per window. With
the gate off the prefilter is skipped and every window is woken. Records that complete no window
yet (an asset's warm-up, or between strides) yield nothing and are counted in
``windows.warming``. `from_card` builds one from a model card and a scoring function.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from edgewatch.errors import ConfigError, StateError
from edgewatch.operators.assetscaler import AssetScaler
from edgewatch.operators.base import Scored
from edgewatch.operators.explain import Explain
from edgewatch.operators.gate import Gate
from edgewatch.operators.prefilter import LearnPolicy, Prefilter, make_detector
from edgewatch.operators.scoring import CardScaler, ModelScorer
from edgewatch.operators.threshold import Threshold
from edgewatch.operators.windowing import CountWindows
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
    ) -> None:
        self.windows, self.scaler, self.prefilter, self.gate = windows, scaler, prefilter, gate
        self.scorer, self.threshold, self.explain = scorer, threshold, explain

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
    ) -> Cascade:
        """``threshold`` None = the card's (chosen on validation when the model was trained)."""
        channels = list(card["channels"])
        gate = Gate(wake_rate, audit_every, calibration, hold)
        return cls(
            CountWindows(channels, int(card["seq_len"]), stride),
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
        if self.gate.wake_rate is not None:  # with the gate off nothing reads the prefilter
            windows = self.gate.process(self.prefilter.process(windows))
        scores = self.scorer.submit(windows)

        def collect() -> list[Scored]:
            scored = self.threshold.process(scores())
            for i, item in enumerate(scored):  # only anomalous windows are explained
                if item.decision:
                    item.values = windows.values[i]
            self.explain.process(scored)
            self.gate.confirm(s.record.asset for s in scored if s.decision)
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
