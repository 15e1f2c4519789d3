"""`IncidentTracker`: turn per-window decisions into incidents that open, update and resolve.

Per asset, an incident opens when at least ``k`` of the last ``m`` windows were decided
anomalous; while open, an ``updated`` event follows new anomalous windows at most once every
``update_ms`` of event time; it resolves at the first window that arrives ``quiet_ms`` (event
time) after the last anomalous one. Either left unset (None) follows the asset's own sampling
interval (an exponentially weighted mean of the gaps between its windows' event times): 30
intervals of quiet, an update at most every 60, so a stream sampled every 5 minutes and one
sampled every second both behave sensibly. The id derives from the asset and the seq of the opening
record, so a replay of the same stream yields the same ids.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from typing import Any

from edgewatch.errors import ConfigError, StateError
from edgewatch.incidents import Incident, IncidentEvent
from edgewatch.operators import state as snap
from edgewatch.operators.base import Scored

__all__ = ["IncidentTracker"]


#: Quiet time and update interval in sampling intervals, where not set in milliseconds.
QUIET_INTERVALS, UPDATE_INTERVALS = 30, 60
_INTERVAL_RATE = 0.05


class _AssetState:
    __slots__ = ("incident", "interval_ms", "last_ts", "last_update_ms", "recent", "why")

    def __init__(self, m: int) -> None:
        self.interval_ms = 0.0  # the sampling interval (0: not seen yet)
        self.last_ts = -1  # event time of the asset's newest window (-1: none yet)
        self.recent: deque[bool] = deque(maxlen=m)
        self.incident: Incident | None = None
        self.last_update_ms = 0
        self.why: Counter[str] = Counter()


class IncidentTracker:
    def __init__(
        self, k: int = 3, m: int = 5, quiet_ms: int | None = None, update_ms: int | None = None
    ) -> None:
        if not 1 <= k <= m:
            raise ConfigError.invalid("k/m", "must satisfy 1 <= k <= m", (k, m))
        if (quiet_ms or 0) < 0 or (update_ms or 0) < 0:
            raise ConfigError.invalid("quiet_ms/update_ms", "must be >= 0", (quiet_ms, update_ms))
        self.k, self.m, self.quiet_ms, self.update_ms = k, m, quiet_ms, update_ms
        self.states: dict[str, _AssetState] = {}

    @property
    def open(self) -> int:
        return sum(1 for s in self.states.values() if s.incident is not None)

    def open_incidents(self) -> list[tuple[Incident, int]]:
        """Each open incident with the event time of its asset's newest window."""
        return [(s.incident, s.last_ts) for s in self.states.values() if s.incident is not None]

    def evict(self, assets: Iterable[str]) -> None:
        for asset in assets:
            self.states.pop(asset, None)

    def state_of(self, asset: str) -> dict[str, Any] | None:
        """The asset's recent decisions and open incident, JSON-ready (None: no state)."""
        state = self.states.get(asset)
        if state is None:
            return None
        return {
            "interval_ms": state.interval_ms,
            "last_ts": state.last_ts,
            "recent": list(state.recent),
            "incident": None if state.incident is None else asdict(state.incident),
            "last_update_ms": state.last_update_ms,
            "why": dict(state.why),
        }

    def restore(self, asset: str, saved: Mapping[str, Any]) -> None:
        """Take up the asset's state from `state_of`, open incident included (same id)."""
        where = f"incident state of {asset!r}"
        kept = _AssetState(self.m)
        kept.last_ts = snap.integer(saved, "last_ts", where)
        kept.interval_ms = snap.number(saved, "interval_ms", where)
        if not 0.0 <= kept.interval_ms <= snap.MAX_COUNT:
            raise StateError(f"{where}.interval_ms must be >= 0; got {kept.interval_ms!r}")
        kept.recent.extend(snap.flag_list(saved, "recent", where)[-self.m :])
        kept.last_update_ms = snap.integer(saved, "last_update_ms", where, low=-snap.MAX_COUNT)
        why = snap.mapping(saved, "why", where)
        kept.why = Counter({str(k)[:128]: snap.integer(why, k, f"{where}.why") for k in why})
        found = snap.mapping(saved, "incident", where) if saved.get("incident") else None
        kept.incident = None if found is None else _incident(found, f"{where}.incident")
        self.states[asset] = kept

    def process(self, batch: list[Scored]) -> list[IncidentEvent]:
        events: list[IncidentEvent] = []
        for item in batch:
            r = item.record
            state = self.states.get(r.asset)
            if state is None:
                state = self.states[r.asset] = _AssetState(self.m)
            state.recent.append(item.decision)
            gap = r.ts - state.last_ts
            if state.last_ts >= 0 and gap > 0:  # not the first window, nor out of order
                seen = state.interval_ms
                state.interval_ms = gap if not seen else seen + _INTERVAL_RATE * (gap - seen)
            state.last_ts = r.ts
            incident = state.incident
            if incident is None:
                if item.decision and sum(state.recent) >= self.k:
                    state.why = Counter(item.top_channels)
                    state.incident = Incident.open(r.asset, r.seq, r.ts, item.score, r.source)
                    state.last_update_ms = r.ts
                    events.append(state.incident.event("opened", r.ts, _top(state.why)))
            elif item.decision:
                state.why.update(item.top_channels)
                incident.observe(r.ts, item.score)
                if r.ts - state.last_update_ms >= self._every(
                    self.update_ms, UPDATE_INTERVALS, state
                ):
                    state.last_update_ms = r.ts
                    events.append(incident.event("updated", r.ts, _top(state.why)))
            elif r.ts - incident.last_anomalous_ts >= self._every(
                self.quiet_ms, QUIET_INTERVALS, state
            ):
                events.append(incident.event("resolved", r.ts, _top(state.why)))
                state.incident = None
        return events

    @staticmethod
    def _every(ms: int | None, intervals: int, state: _AssetState) -> float:
        """``ms`` if set, else that many of the asset's sampling intervals."""
        return ms if ms is not None else intervals * state.interval_ms


def _top(why: Counter[str], n: int = 3) -> tuple[str, ...]:
    return tuple(name for name, _ in why.most_common(n))


def _incident(saved: Mapping[str, Any], where: str) -> Incident:
    """An open incident from a snapshot, every field checked."""
    return Incident(
        id=snap.text(saved, "id", where, 64),
        asset=snap.text(saved, "asset", where),
        opened_seq=snap.integer(saved, "opened_seq", where),
        opened_ts=snap.integer(saved, "opened_ts", where),
        last_anomalous_ts=snap.integer(saved, "last_anomalous_ts", where),
        peak_score=snap.number(saved, "peak_score", where),
        windows=snap.integer(saved, "windows", where),
        source=snap.text(saved, "source", where),
    )
