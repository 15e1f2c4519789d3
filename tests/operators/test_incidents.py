from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from edgewatch.operators.base import Scored
from edgewatch.operators.incidents import IncidentTracker
from edgewatch.records import SensorRecord


def _stream(decisions: list[bool], asset: str = "a", step_ms: int = 1_000) -> list[Scored]:
    return [
        Scored(
            SensorRecord(asset, i * step_ms, i, {"x": 1.0}, "t"), float(d), d, top_channels=("x",)
        )
        for i, d in enumerate(decisions)
    ]


def test_opens_after_k_of_m_and_resolves_after_quiet() -> None:
    tracker = IncidentTracker(k=2, m=3, quiet_ms=3_000, update_ms=10**9)
    decisions = [False, True, False, True, True, False, False, False, False]
    events = tracker.process(_stream(decisions))
    assert [(e.kind, e.ts) for e in events] == [("opened", 3_000), ("resolved", 7_000)]
    opened, resolved = events
    assert opened.incident_id == resolved.incident_id
    assert resolved.windows == 2  # the opening window and seq 4
    assert resolved.top_channels == ("x",)
    assert tracker.open == 0


def test_one_isolated_anomaly_opens_nothing() -> None:
    assert IncidentTracker(k=2, m=5).process(_stream([False, True, False, False])) == []


def test_updates_are_rate_limited_by_event_time() -> None:
    tracker = IncidentTracker(k=1, m=1, quiet_ms=10**9, update_ms=2_500)
    events = tracker.process(_stream([True] * 8))
    assert [e.kind for e in events] == ["opened", "updated", "updated"]


@given(st.lists(st.booleans(), max_size=60), st.integers(1, 4))
def test_ids_are_stable_and_events_alternate(decisions: list[bool], k: int) -> None:
    first = IncidentTracker(k=k, m=4).process(_stream(decisions))
    again = IncidentTracker(k=k, m=4).process(_stream(decisions))
    assert [e.event_id for e in first] == [e.event_id for e in again]
    kinds = [e.kind for e in first if e.kind != "updated"]
    assert kinds == ["opened", "resolved"] * (len(kinds) // 2) + ["opened"] * (len(kinds) % 2)


def test_assets_are_independent() -> None:
    tracker = IncidentTracker(k=1, m=1, quiet_ms=0)
    batch = _stream([True, False], "a") + _stream([True, True], "b")
    events = tracker.process(batch)
    assert {(e.asset, e.kind) for e in events} == {
        ("a", "opened"),
        ("a", "resolved"),
        ("b", "opened"),
    }
    assert tracker.open == 1
