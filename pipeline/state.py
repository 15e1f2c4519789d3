"""Per-asset state snapshots on a compacted changelog topic: moved assets resume where they were.

At each checkpoint (`checkpoint`), before offsets are committed, the member sends a
snapshot of every asset touched since the last one to the changelog topic: key = asset, partition
= the input partition the asset's records came from, value = JSON (`Snapshot`). ``offset`` is the
input offset of the asset's newest record the state includes. Snapshots are acknowledged before
the commit, so every committed offset has its snapshots on the broker.

A member that gains a partition reads that changelog partition to its end and restores, per
asset, the newest snapshot whose offset is below the partition's committed offset: the state the
committed records built, so processing goes on from the committed offset as if the asset had
never moved. Passed over (the asset warms up as without a changelog): a snapshot at or past the
committed offset (its member died before committing; taking it would count records twice), one
written for another model version, and one that cannot be read (logged).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from edgewatch.errors import StateError
from edgewatch.transport import Message, MessageSink

__all__ = ["Changelog", "Restored", "Snapshot", "Stateful"]

log = logging.getLogger(__name__)
VERSION = 1


@dataclass(frozen=True, slots=True)
class Snapshot:
    asset: str
    partition: int  # of the input topic (and of the changelog)
    offset: int  # input offset of the asset's newest record in ``state``
    model: str  # the model version the state was built for
    state: dict[str, Any]  # component name -> its JSON-ready state (None: none)

    def encode(self) -> bytes:
        return orjson.dumps(
            {
                "v": VERSION,
                "asset": self.asset,
                "partition": self.partition,
                "offset": self.offset,
                "model": self.model,
                "state": self.state,
            }
        )

    @classmethod
    def decode(cls, value: bytes | None) -> Snapshot:
        """The snapshot in ``value``; `StateError` naming what is wrong otherwise."""
        try:
            doc = orjson.loads(value or b"")
        except orjson.JSONDecodeError as exc:
            raise StateError(f"snapshot is not JSON: {exc}") from exc
        if not isinstance(doc, dict) or doc.get("v") != VERSION:
            version = doc.get("v") if isinstance(doc, dict) else None
            raise StateError(f"snapshot version must be {VERSION}; got {version!r}")
        try:
            snapshot = cls(
                str(doc["asset"]),
                int(doc["partition"]),
                int(doc["offset"]),
                str(doc["model"]),
                doc["state"],
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise StateError(f"snapshot field {exc} is missing or malformed") from exc
        if not isinstance(snapshot.state, dict):
            raise StateError(f"snapshot field 'state' must be an object; got {snapshot.state!r}")
        return snapshot


class Stateful(Protocol):
    """A component with per-asset state (the cascade, the incident tracker, the sequence guard)."""

    def state_of(self, asset: str) -> dict[str, Any] | None: ...
    def restore(self, asset: str, saved: Mapping[str, Any]) -> None: ...
    def evict(self, assets: Iterable[str]) -> None: ...


@dataclass(slots=True)
class Restored:
    """What `Changelog.restore` did for some partitions."""

    assets: dict[str, int] = field(default_factory=dict)  # restored asset -> its partition
    ahead: int = 0  # snapshots at or past the committed offset
    foreign: int = 0  # built for another model version
    invalid: int = 0  # unreadable, or not fitting this member's components


class Changelog:
    """The changelog topic of one member: ``read(partitions)`` returns the messages of those
    changelog partitions up to their current ends, in offset order per partition."""

    def __init__(
        self, topic: str, model: str, read: Callable[[Sequence[int]], Iterable[Message]]
    ) -> None:
        self.topic, self.model, self.read = topic, model, read

    def snapshot(
        self, sink: MessageSink, parts: Mapping[str, Stateful], newest: Mapping[str, Message]
    ) -> int:
        """Send the state of each asset in ``newest`` (asset -> its newest message the state
        includes) through ``sink``; the caller flushes. How many were sent."""
        for asset, m in newest.items():
            state = {name: part.state_of(asset) for name, part in parts.items()}
            value = Snapshot(asset, m.partition, m.offset, self.model, state).encode()
            sink.send(self.topic, asset.encode(), value, m.partition)
        return len(newest)

    def restore(
        self, parts: Mapping[str, Stateful], committed: Mapping[int, int | None]
    ) -> Restored:
        """Restore into ``parts``, for each asset of the partitions in ``committed`` (partition
        -> committed input offset, None if none), the newest snapshot the committed records
        built (see the module doc)."""
        t0 = time.perf_counter()
        found, chosen = Restored(), {}
        for m in self.read(sorted(committed)):
            try:
                snapshot = Snapshot.decode(m.value)
            except StateError as exc:
                found.invalid += 1
                log.warning(
                    "changelog %s[%d]@%d skipped: %s", self.topic, m.partition, m.offset, exc
                )
                continue
            limit = committed.get(snapshot.partition)
            if snapshot.model != self.model:
                found.foreign += 1
            elif limit is None or snapshot.offset >= limit:
                found.ahead += 1
            else:
                chosen[snapshot.asset] = snapshot
        for asset, snapshot in chosen.items():
            try:
                for name, part in parts.items():
                    saved = snapshot.state.get(name)
                    if saved is not None:
                        part.restore(asset, saved)
            except StateError as exc:
                for part in parts.values():
                    part.evict([asset])
                found.invalid += 1
                log.warning("state of %r not restored (it warms up): %s", asset, exc)
                continue
            found.assets[asset] = snapshot.partition
        log.info(
            "state restored partitions=%s assets=%d skipped_ahead=%d skipped_other_model=%d "
            "skipped_invalid=%d seconds=%.2f",
            sorted(committed),
            len(found.assets),
            found.ahead,
            found.foreign,
            found.invalid,
            time.perf_counter() - t0,
        )
        return found
