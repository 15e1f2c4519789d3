"""Signed webhooks over real HTTP: signatures, the durable outbox, retries while the receiver is
down, exactly-once arrival in order per incident."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
import orjson
import pytest

from edgewatch.errors import SignatureError
from edgewatch.incidents import Incident, IncidentEvent
from edgewatch.pipeline.alerts.outbox import Outbox
from edgewatch.pipeline.alerts.receiver import Receiver
from edgewatch.pipeline.alerts.webhooks import SIGNATURE_HEADER, Dispatcher, payload, sign, verify

SECRET = b"s3cret-of-16-chars"


def _events(incidents: int = 3) -> list[IncidentEvent]:
    out = []
    for n in range(incidents):
        incident = Incident.open(f"pump-{n}", seq=10 * n, ts=1_000, score=0.9)
        out.append(incident.event("opened", 1_000, ("p",)))
        incident.observe(2_000, 0.95)
        out.append(incident.event("updated", 2_000, ("p",)))
        out.append(incident.event("resolved", 40_000, ("p",)))
    return out


def _store(outbox: Outbox, url: str, events: list[IncidentEvent]) -> int:
    return outbox.add((url, e.event_id, e.incident_id, payload(e)) for e in events)


def test_signatures_verify_and_reject_tampering_staleness_and_garbage() -> None:
    body = b'{"kind": "opened"}'
    header = sign(SECRET, 1_000_000, body)
    assert verify(SECRET, header, body, now_ms=1_000_500) == 1_000_000
    with pytest.raises(SignatureError, match="does not match"):
        verify(SECRET, header, body.replace(b"opened", b"closed"), now_ms=1_000_500)
    with pytest.raises(SignatureError, match="does not match"):
        verify(b"other", header, body, now_ms=1_000_500)
    with pytest.raises(SignatureError, match="tolerance"):
        verify(SECRET, header, body, now_ms=1_000_000 + 301_000)
    with pytest.raises(SignatureError, match="t=<ms>"):
        verify(SECRET, "v1=abc", body, now_ms=0)
    with pytest.raises(SignatureError, match="missing"):
        verify(SECRET, None, body, now_ms=0)


def test_alertmanager_payload_fires_then_resolves() -> None:
    opened, _, resolved = _events(1)
    first, last = (
        orjson.loads(payload(opened, "alertmanager")),
        orjson.loads(payload(resolved, "alertmanager")),
    )
    assert (first["status"], last["status"]) == ("firing", "resolved")
    assert first["alerts"][0]["labels"]["incident_id"] == opened.incident_id
    assert last["alerts"][0]["endsAt"].startswith("1970-01-01T00:00:40")


def test_outbox_dedupes_keeps_order_per_incident_and_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    outbox = Outbox(path)
    events = _events(2)
    assert _store(outbox, "http://x/", events) == 6
    assert _store(outbox, "http://x/", events) == 0  # a redelivered batch adds nothing
    due = outbox.due(now_ms=0)
    assert [r.event_id for r in due] == [events[0].event_id, events[3].event_id]  # heads only
    outbox.failed(due[0].id, "HTTP 503", retry_at_ms=10_000)
    assert [r.event_id for r in outbox.due(now_ms=0)] == [events[3].event_id]
    outbox.close()
    again = Outbox(path)
    assert again.pending() == 6
    assert [r.attempts for r in again.due(now_ms=20_000)] == [1, 0]


def test_the_receiver_rejects_a_tampered_body_over_http() -> None:
    with Receiver(SECRET) as receiver:
        body = payload(_events(1)[0])
        header = sign(SECRET, time.time_ns() // 1_000_000, body)
        ok = httpx.post(receiver.url, content=body, headers={SIGNATURE_HEADER: header})
        bad = httpx.post(
            receiver.url, content=body.replace(b"pump", b"pomp"), headers={SIGNATURE_HEADER: header}
        )
        again = httpx.post(receiver.url, content=body, headers={SIGNATURE_HEADER: header})
    assert (ok.status_code, bad.status_code, again.status_code) == (200, 401, 200)
    assert "does not match" in bad.text
    assert again.text == "duplicate"
    assert len(receiver.events) == 1
    assert receiver.rejected == 1


def _outage(tmp_path: Path, port: int, down_s: float) -> None:
    """Alerts are stored while the receiver is down; the member restarts (outbox reopened) in
    the middle; the receiver comes back: each alert arrives once, in order per incident."""
    url = f"http://127.0.0.1:{port}/hook"
    path = tmp_path / "outbox.sqlite"
    events = _events(3)
    outbox = Outbox(path)
    _store(outbox, url, events[:5])
    fast = {"backoff_ms": 100, "max_backoff_ms": 1_000, "timeout_s": 1.0, "seed": 1}
    dispatcher = Dispatcher(outbox, SECRET, **fast).start()  # type: ignore[arg-type]
    time.sleep(down_s / 2)
    dispatcher.stop()  # the member restarts
    outbox.close()
    outbox = Outbox(path)
    _store(outbox, url, events)  # the redelivered batch and the rest
    outcomes: list[str] = []
    dispatcher = Dispatcher(outbox, SECRET, on_outcome=outcomes.append, **fast).start()  # type: ignore[arg-type]
    time.sleep(down_s / 2)
    assert "delivered" not in outcomes
    with Receiver(SECRET, port=port) as receiver:
        deadline = time.monotonic() + 30
        while outbox.pending() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # nothing more should arrive
    dispatcher.stop()
    assert outbox.pending() == 0
    outbox.close()
    got = [(e["incident_id"], e["kind"]) for e in receiver.events]
    assert sorted(got) == sorted((e.incident_id, e.kind) for e in events)  # each exactly once
    for incident in {e.incident_id for e in events}:
        kinds = [kind for i, kind in got if i == incident]
        assert kinds == ["opened", "updated", "resolved"]
    assert outcomes.count("failed") >= 1


def test_alerts_survive_a_short_outage_and_a_restart(
    tmp_path: Path, free_port: Callable[[], int]
) -> None:
    _outage(tmp_path, free_port(), down_s=2.0)
