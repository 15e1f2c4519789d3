"""`PerAsset`: one detector per asset, scoring a batch of records in order (score, then learn)."""

from __future__ import annotations

from collections.abc import Callable

from edgewatch.errors import ConfigError
from edgewatch.operators.base import Detector, Scored
from edgewatch.records import SensorRecord

__all__ = ["PerAsset"]


class PerAsset:
    """Routes each record to its asset's detector, created on first sight by ``factory``.

    At most ``max_assets`` detectors are kept; a record of a further asset raises `ConfigError`
    rather than letting state grow without bound.
    """

    def __init__(self, factory: Callable[[], Detector], max_assets: int = 100_000) -> None:
        if max_assets < 1:
            raise ConfigError.invalid("max_assets", "must be at least 1", max_assets)
        self.factory = factory
        self.max_assets = max_assets
        self.detectors: dict[str, Detector] = {}

    def __len__(self) -> int:
        return len(self.detectors)

    def process(self, batch: list[SensorRecord]) -> list[Scored]:
        out = []
        detectors = self.detectors
        for record in batch:
            detector = detectors.get(record.asset)
            if detector is None:
                if len(detectors) >= self.max_assets:
                    raise ConfigError.invalid(
                        "max_assets", "is reached; raise it to track more assets", self.max_assets
                    )
                detector = detectors[record.asset] = self.factory()
            out.append(Scored(record, detector.score_one(record.values)))
            detector.learn_one(record.values)
        return out
