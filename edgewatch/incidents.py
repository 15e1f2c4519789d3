"""Incidents and their events (opened / updated / resolved): the alert contract.

An incident's ``id`` is a UUIDv5 of the asset and the seq of the record that opened it; an
event's ``event_id`` adds the kind and the number of anomalous windows so far, so a redelivered
stream produces the same ids and receivers can drop duplicates.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

import orjson

from edgewatch.detections import uuid5_str

__all__ = ["EVENT_KINDS", "Incident", "IncidentEvent"]

EVENT_KINDS = ("opened", "updated", "resolved")
EventKind = Literal["opened", "updated", "resolved"]
_NAMESPACE = uuid.UUID("0b5e3c52-8d0e-5b6f-a3c4-2f9e1d7a6b13")


@dataclass(slots=True)
class Incident:
    id: str
    asset: str
    opened_seq: int
    opened_ts: int
    last_anomalous_ts: int
    peak_score: float
    windows: int  # anomalous windows so far
    source: str = ""

    @classmethod
    def open(cls, asset: str, seq: int, ts: int, score: float, source: str = "") -> Incident:
        incident_id = uuid5_str(_NAMESPACE, f"{asset}\x1f{seq}")
        return cls(incident_id, asset, seq, ts, ts, score, 1, source)

    def observe(self, ts: int, score: float) -> None:
        self.last_anomalous_ts = max(self.last_anomalous_ts, ts)
        self.peak_score = max(self.peak_score, score)
        self.windows += 1

    def event(self, kind: EventKind, ts: int, top_channels: tuple[str, ...]) -> IncidentEvent:
        return IncidentEvent(
            kind=kind,
            incident_id=self.id,
            asset=self.asset,
            ts=ts,
            opened_ts=self.opened_ts,
            last_anomalous_ts=self.last_anomalous_ts,
            peak_score=self.peak_score,
            windows=self.windows,
            top_channels=top_channels,
            source=self.source,
        )


@dataclass(frozen=True, slots=True)
class IncidentEvent:
    kind: EventKind
    incident_id: str
    asset: str
    ts: int  # event time of the record that caused this event
    opened_ts: int
    last_anomalous_ts: int
    peak_score: float
    windows: int
    top_channels: tuple[str, ...] = ()
    source: str = ""

    @property
    def event_id(self) -> str:
        return uuid5_str(_NAMESPACE, f"{self.incident_id}\x1f{self.kind}\x1f{self.windows}")

    def as_dict(self) -> dict[str, object]:
        return {
            "v": 1,
            "event_id": self.event_id,
            "kind": self.kind,
            "incident_id": self.incident_id,
            "asset": self.asset,
            "ts": self.ts,
            "opened_ts": self.opened_ts,
            "last_anomalous_ts": self.last_anomalous_ts,
            "duration_ms": self.last_anomalous_ts - self.opened_ts,
            "peak_score": self.peak_score,
            "windows": self.windows,
            "top_channels": list(self.top_channels),
            "source": self.source,
        }

    def encode(self) -> bytes:
        return orjson.dumps(self.as_dict())
