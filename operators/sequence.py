"""`SequenceGuard`: per-asset ``seq`` must increase; repeats and regressions are rejected.

A record whose ``seq`` equals its asset's last accepted one is ``repeated_seq``; a lower one is
``out_of_order``. Gaps (a jump of more than 1) are accepted and counted in ``gaps``: records lost
upstream should be visible, not fatal. State is per asset and is evicted with the asset.

Recovery (a new epoch): a producer that restarts from 0, or one forged record with a seq far
ahead, would otherwise send every later record of the asset to the DLQ, across restarts too.
After ``restart_after`` consecutive rejected records that are consistent among themselves (each
seq one more than the previous rejected one), the guard accepts the last of them as the asset's
new sequence: the ``restart_after - 1`` before it stay in the DLQ, the restart is counted in
``restarts`` and logged once per restart at WARNING.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from edgewatch.errors import ConfigError
from edgewatch.operators import state as snap
from edgewatch.records import SensorRecord

__all__ = ["SEQUENCE_REASONS", "SequenceGuard"]

SEQUENCE_REASONS = ("repeated_seq", "out_of_order")
log = logging.getLogger(__name__)


class SequenceGuard:
    def __init__(self, restart_after: int = 10) -> None:
        if restart_after < 2:
            raise ConfigError.invalid("restart_after", "must be at least 2", restart_after)
        self.restart_after = restart_after
        self.last: dict[str, int] = {}
        self.gaps = 0  # records missing between accepted ones
        self.restarts = 0  # new epochs accepted
        #: per asset with rejected records: (seq of the last rejected one, how many in a row)
        self._rejected: dict[str, tuple[int, int]] = {}

    def evict(self, assets: Iterable[str]) -> None:
        for asset in assets:
            self.last.pop(asset, None)
            self._rejected.pop(asset, None)

    def state_of(self, asset: str) -> dict[str, Any] | None:
        last = self.last.get(asset)
        return None if last is None else {"seq": last}

    def restore(self, asset: str, saved: Mapping[str, Any]) -> None:
        self.last[asset] = snap.integer(saved, "seq", f"sequence state of {asset!r}")

    def check(self, record: SensorRecord) -> str | None:
        """None if ``record`` is accepted (and remembered), else the reason it is rejected."""
        asset, seq = record.asset, record.seq
        last = self.last.get(asset)
        if last is not None:
            if seq <= last:
                return self._rejected_one(asset, seq, last)
            self.gaps += seq - last - 1
        if self._rejected:
            self._rejected.pop(asset, None)
        self.last[asset] = seq
        return None

    def _rejected_one(self, asset: str, seq: int, last: int) -> str | None:
        before = self._rejected.get(asset)
        run = before[1] + 1 if before is not None and seq == before[0] + 1 else 1
        if run < self.restart_after:
            self._rejected[asset] = (seq, run)
            return "repeated_seq" if seq == last else "out_of_order"
        del self._rejected[asset]
        self.last[asset] = seq
        self.restarts += 1
        log.warning(
            "asset=%r seq restarted at %d after %d consistent records below the last accepted "
            "seq %d (a producer restart, or a seq too far ahead before)",
            asset, seq, run, last,
        )  # fmt: skip
        return None

    def process(self, batch: list[SensorRecord]) -> list[SensorRecord]:
        """The accepted records, in order."""
        return [r for r in batch if self.check(r) is None]
