"""`OnlineDetector`: the unsupervised detector as a stream detector, one `OnlineScorer` per asset.

It scores every record on its own (no window, no model, no card) with whatever channels the
asset sends, and decides it anomalous when its rarity reaches the threshold set by the target
false-alarm rate. Records of an asset still learning (``warmup`` twice, then ``calibration``
readings unless the fleet's tail is learned) yield nothing and are counted in `warming`, as a
model's warm-up is.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from edgewatch.operators import state as snap
from edgewatch.operators.base import Scored
from edgewatch.operators.online import OnlineScorer, ScorerParams
from edgewatch.operators.spot import TailThreshold
from edgewatch.records import SensorRecord

__all__ = ["ONLINE", "OnlineDetector"]

#: The detector's name where a model's would stand (detections, logs, `--model`).
ONLINE = "online"


class OnlineDetector:
    def __init__(self, params: ScorerParams, top_channels: int = 3) -> None:
        self.params = params
        self.top_channels = top_channels
        self.scorers: dict[str, OnlineScorer] = {}
        #: the tail of every asset's scores, for assets whose own is not learned yet (the
        #: member's, not an asset's: relearned after a restart)
        self.fleet = TailThreshold(params.rate, params.calibration)
        self.warming = 0
        self.unfit = 0  # any channels fit: never unfit
        self.invocations = 0  # no model: these stay 0
        self.model_seconds = 0.0
        self.model_windows = 0

    @property
    def threshold_value(self) -> float:
        return -math.log10(self.params.rate)

    @property
    def version(self) -> str:
        """Names the parameters: state saved under other parameters is not restored."""
        p = self.params
        return f"online-{p.rate:g}-{p.level_rate:g}-{p.smooth}-{p.warmup}-{p.calibration}"

    def __len__(self) -> int:
        return len(self.scorers)

    def take_unfit(self) -> dict[str, list[str]]:
        return {}

    def evict(self, assets: Iterable[str]) -> None:
        for asset in assets:
            self.scorers.pop(asset, None)

    def state_of(self, asset: str) -> dict[str, Any] | None:
        scorer = self.scorers.get(asset)
        return None if scorer is None else {"online": scorer.state()}

    def restore(self, asset: str, saved: Mapping[str, Any]) -> None:
        where = f"online detector state of {asset!r}"
        scorer = OnlineScorer(self.params, self.fleet)
        scorer.restore(snap.mapping(saved, "online", where), f"{where}.online")
        self.scorers[asset] = scorer

    def process(self, batch: list[SensorRecord]) -> list[Scored]:
        out: list[Scored] = []
        scorers, k = self.scorers, self.top_channels
        for record in batch:
            scorer = scorers.get(record.asset)
            if scorer is None:
                scorer = scorers[record.asset] = OnlineScorer(self.params, self.fleet)
            x = record.values
            ready = scorer.ready
            rarity = scorer.score_one(x)
            decision = ready and rarity >= scorer.threshold
            top = scorer.top(k) if decision else ()
            scorer.learn_one(x)
            if ready:
                out.append(Scored(record, rarity, decision, top_channels=top))
            else:
                self.warming += 1
        return out

    def submit(self, batch: list[SensorRecord]) -> Callable[[], list[Scored]]:
        scored = self.process(batch)
        return lambda: scored
