"""`SequenceGuard`: per-asset ``seq`` must increase; repeats and regressions are rejected.

A record whose ``seq`` equals its asset's last accepted one is ``repeated_seq``; a lower one is
``out_of_order``. Gaps (a jump of more than 1) are accepted and counted in ``gaps``: records lost
upstream should be visible, not fatal. State is per asset and is evicted with the asset.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from edgewatch.errors import StateError
from edgewatch.records import SensorRecord

__all__ = ["SEQUENCE_REASONS", "SequenceGuard"]

SEQUENCE_REASONS = ("repeated_seq", "out_of_order")


class SequenceGuard:
    def __init__(self) -> None:
        self.last: dict[str, int] = {}
        self.gaps = 0  # records missing between accepted ones

    def evict(self, assets: Iterable[str]) -> None:
        for asset in assets:
            self.last.pop(asset, None)

    def state_of(self, asset: str) -> dict[str, Any] | None:
        last = self.last.get(asset)
        return None if last is None else {"seq": last}

    def restore(self, asset: str, saved: Mapping[str, Any]) -> None:
        try:
            self.last[asset] = int(saved["seq"])
        except (KeyError, TypeError, ValueError) as exc:
            raise StateError(f"sequence state of {asset!r} is incomplete: {exc!r}") from exc

    def check(self, record: SensorRecord) -> str | None:
        """None if ``record`` is accepted (and remembered), else the reason it is rejected."""
        last = self.last.get(record.asset)
        if last is not None:
            if record.seq == last:
                return "repeated_seq"
            if record.seq < last:
                return "out_of_order"
            self.gaps += record.seq - last - 1
        self.last[record.asset] = record.seq
        return None

    def process(self, batch: list[SensorRecord]) -> list[SensorRecord]:
        """The accepted records, in order."""
        return [r for r in batch if self.check(r) is None]
