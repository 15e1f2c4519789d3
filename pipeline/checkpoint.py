"""`Checkpoints`: when a member commits its offsets and writes its state snapshots.

Every batch's outputs are flushed (acknowledged by the broker) before its offsets join the
pending ones. A checkpoint, due every ``interval_ms`` of wall time (0: after every batch), sends
one changelog snapshot per asset touched since the last checkpoint (if there is a changelog),
has them acknowledged with the batch's outputs, then commits the pending offsets.

A longer interval costs fewer commit round trips and far fewer snapshots (one per asset per
interval instead of one per asset per batch) and, after a crash, re-processes more records:
duplicates that detection and incident ids make harmless. Nothing is lost either way. A member
that stops cleanly takes a last checkpoint (`Member.checkpoint`). A commit the coordinator
refuses because the group is rebalancing is not an error: the offsets stay pending, and what moves
to another member is re-read there from the last commit (logged at INFO).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from edgewatch.errors import CommitRejectedError
from edgewatch.pipeline.state import Changelog, Stateful
from edgewatch.transport import Message, MessageSink, MessageSource, TopicPartition

__all__ = ["Checkpoints"]

log = logging.getLogger(__name__)


@dataclass
class Checkpoints:
    interval_ms: int = 0
    changelog: Changelog | None = None
    #: offsets whose batches' outputs are acknowledged, not yet committed
    offsets: dict[TopicPartition, int] = field(default_factory=dict)
    #: asset -> its newest processed message, for assets touched since the last snapshot
    touched: dict[str, Message] = field(default_factory=dict)
    last_ms: int | None = None  # wall time of the last checkpoint

    def due(self, now_ms: int) -> bool:
        return self.last_ms is None or now_ms - self.last_ms >= self.interval_ms

    @property
    def pending(self) -> bool:
        return bool(self.offsets or self.touched)

    def touch(self, newest: Mapping[str, Message]) -> None:
        """Note the assets a batch processed (asset -> its newest message); kept only if there
        is a changelog to write them to."""
        if self.changelog is not None:
            self.touched.update(newest)

    def snapshot(self, sink: MessageSink, parts: Mapping[str, Stateful]) -> int:
        """Send the snapshots of the touched assets (the caller flushes); how many were sent."""
        if self.changelog is None or not self.touched:
            return 0
        sent = self.changelog.snapshot(sink, parts, self.touched)
        self.touched = {}
        return sent

    def commit(self, source: MessageSource, now_ms: int) -> bool:
        """Commit the pending offsets: every output of their batches is acknowledged. False if
        the group coordinator refused (a rebalance): they stay pending for the next checkpoint,
        and partitions that move re-read them from the last commit on their new owner."""
        self.last_ms = now_ms
        try:
            source.commit(self.offsets)
        except CommitRejectedError as exc:
            log.info(
                "commit refused while the group rebalances; %d partitions stay pending "
                "(a new owner re-reads them from the last commit): %s",
                len(self.offsets),
                exc,
            )
            return False
        self.offsets = {}
        return True

    def drop(self, lost: Iterable[TopicPartition], assets: Iterable[str]) -> None:
        """Forget partitions this member lost and their assets: their new owner re-reads them
        from the last commit."""
        for tp in lost:
            self.offsets.pop(tp, None)
        for asset in assets:
            self.touched.pop(asset, None)
