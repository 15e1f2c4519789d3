"""The webhook receiver against hostile clients, over real HTTP on 127.0.0.1: duplicates by the
signed event id only, seen ids kept across restarts, bounded bodies, slow clients timed out,
bounded concurrency."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
import orjson
import pytest

from edgewatch.incidents import Incident
from edgewatch.pipeline.alerts import receiver as receiver_module
from edgewatch.pipeline.alerts.receiver import Receiver
from edgewatch.pipeline.alerts.webhooks import EVENT_HEADER, SIGNATURE_HEADER, payload, sign

pytestmark = pytest.mark.integration
SECRET = b"a-secret-of-16-chars"


def _bodies(n: int) -> list[bytes]:
    """Signed-body payloads of ``n`` successive events of one incident (distinct event ids)."""
    incident = Incident.open("pump", seq=1, ts=1_000, score=0.9)
    events = [incident.event("opened", 1_000, ("p",))]
    for i in range(1, n):
        incident.observe(1_000 + i, 0.95)
        events.append(incident.event("updated", 1_000 + i, ("p",)))
    return [payload(e) for e in events]


def _post(url: str, body: bytes, **headers: str) -> httpx.Response:
    signed = {SIGNATURE_HEADER: sign(SECRET, time.time_ns() // 1_000_000, body), **headers}
    return httpx.post(url, content=body, headers=signed)


def test_a_replay_with_a_new_header_id_is_a_duplicate() -> None:
    body = _bodies(1)[0]
    with Receiver(SECRET) as receiver:
        first = _post(receiver.url, body, **{EVENT_HEADER: "one"})
        replay = _post(receiver.url, body, **{EVENT_HEADER: "another"})
    assert (first.text, replay.text) == ("stored", "duplicate")
    assert len(receiver.events) == 1


def test_a_replay_carrying_a_future_events_id_cannot_suppress_it() -> None:
    now, later = _bodies(2)
    with Receiver(SECRET) as receiver:
        _post(receiver.url, now)
        forged = _post(receiver.url, now, **{EVENT_HEADER: orjson.loads(later)["event_id"]})
        genuine = _post(receiver.url, later)
    assert (forged.text, genuine.text) == ("duplicate", "stored")
    assert len(receiver.events) == 2


def test_seen_ids_survive_a_restart(tmp_path: Path) -> None:
    out = tmp_path / "alerts.jsonl"
    body = _bodies(1)[0]
    with Receiver(SECRET, out=out) as receiver:
        assert _post(receiver.url, body).text == "stored"
    with out.open("ab") as f:
        f.write(b'{"event_id": "cut-sh')  # a line a crash cut short does not stop a restart
    with Receiver(SECRET, out=out) as receiver:
        assert _post(receiver.url, body).text == "duplicate"
        assert _post(receiver.url, _bodies(2)[1]).text == "stored"
    lines = out.read_bytes().splitlines()
    assert len(lines) == 3
    assert orjson.loads(lines[-1])["kind"] == "updated"  # on a line of its own


def _raw(receiver: Receiver, request: bytes, timeout: float = 10.0) -> bytes:
    with socket.create_connection((receiver.host, receiver.port), timeout=timeout) as conn:
        conn.sendall(request)
        return conn.recv(4096)


@pytest.mark.parametrize("length", ["-1", "abc", None])
def test_a_missing_or_negative_length_is_refused_before_reading(length: str | None) -> None:
    header = b"" if length is None else f"Content-Length: {length}\r\n".encode()
    with Receiver(SECRET) as receiver:
        answer = _raw(receiver, b"POST / HTTP/1.1\r\nHost: x\r\n" + header + b"\r\n" + b"a" * 1000)
    assert answer.startswith((b"HTTP/1.0 411", b"HTTP/1.1 411"))
    assert receiver.events == []


def test_an_oversized_body_is_refused_unread() -> None:
    big = receiver_module.MAX_BODY + 1
    with Receiver(SECRET) as receiver:
        answer = _raw(receiver, f"POST / HTTP/1.1\r\nContent-Length: {big}\r\n\r\n".encode())
    assert b" 413 " in answer.split(b"\r\n", 1)[0]


def test_slow_clients_time_out_and_concurrency_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(receiver_module, "CLIENT_TIMEOUT_S", 0.5)
    with Receiver(SECRET, max_clients=4) as receiver:
        idle = [socket.create_connection((receiver.host, receiver.port)) for _ in range(10)]
        try:
            for conn in idle:
                conn.sendall(b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n")  # and no body
            time.sleep(0.3)
            # over the bound, connections are closed at once: the server keeps its threads
            closed = 0
            for conn in idle:
                conn.settimeout(3.0)
                try:
                    if conn.recv(1) == b"":
                        closed += 1
                except (TimeoutError, ConnectionResetError):
                    closed += 1
            assert closed == 10  # the 4 served ones timed out, the 6 others were refused
        finally:
            for conn in idle:
                conn.close()
        assert _post(receiver.url, _bodies(1)[0]).text == "stored"  # and it still serves
