"""`Receiver`: the reference webhook receiver behind `edgewatch webhook-receiver`.

It verifies each request's signature and timestamp (401 with the reason otherwise), answers a
duplicate event with 200 without storing it again, and stores each new event: in memory, as a
JSON line appended to ``out`` when given, and through ``on_event`` (the CLI prints it).

Duplicates are recognised by the event id inside the signed body, never by a header the
signature does not cover. The ids seen are read back from ``out`` at start, so a restart keeps
them. Replay window: a captured request is refused once its signed timestamp is more than
``tolerance_ms`` away; within it, a replay is a duplicate and is not stored again.

Hostile clients: a request needs a Content-Length between 0 and ``MAX_BODY`` (411/413
otherwise, before anything is read), a client has ``CLIENT_TIMEOUT_S`` per read, and at most
``max_clients`` connections are served at once (further ones are closed at once).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import orjson

from edgewatch.errors import ConfigError, SignatureError
from edgewatch.pipeline.alerts.webhooks import SIGNATURE_HEADER, verify
from edgewatch.pipeline.serving import BoundedHTTPServer, ServedInThread

__all__ = ["Receiver"]

log = logging.getLogger(__name__)
MAX_BODY = 1 << 20
CLIENT_TIMEOUT_S = 10.0


def _event_id(event: object) -> str | None:
    """The event id inside a signed body, in either payload format."""
    if not isinstance(event, dict):
        return None
    found = event.get("event_id")
    nested = event.get("event")
    if found is None and isinstance(nested, dict):
        found = nested.get("event_id")
    return found if isinstance(found, str) and 0 < len(found) <= 256 else None


class Receiver(ServedInThread):
    def __init__(
        self,
        secret: bytes,
        host: str = "127.0.0.1",
        port: int = 0,
        out: Path | None = None,
        tolerance_ms: int = 300_000,
        on_event: Callable[[dict[str, Any]], None] | None = None,
        max_clients: int = 64,
    ) -> None:
        self.secret, self.host, self.port, self.out = secret, host, port, out
        self.tolerance_ms = tolerance_ms
        self.on_event = on_event
        self.max_clients = max_clients
        self.events: list[dict[str, Any]] = []
        self.rejected = 0
        self._seen: set[str] = set()
        if out is not None and out.is_file():
            stored = out.read_bytes()
            if stored and not stored.endswith(b"\n"):  # end a line cut short before appending
                with out.open("ab") as f:
                    f.write(b"\n")
            for number, line in enumerate(stored.splitlines(), 1):
                try:
                    self._seen.add(str(orjson.loads(line).get("event_id")))
                except (orjson.JSONDecodeError, AttributeError):  # e.g. cut short by a crash
                    log.warning("%s, line %d: not an event; its id is not remembered", out, number)
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def handle(self, body: bytes, signature: str | None) -> tuple[int, str]:
        """Status and message for one request (the HTTP handler's logic, testable alone)."""
        try:
            verify(self.secret, signature, body, time.time_ns() // 1_000_000, self.tolerance_ms)
            event = orjson.loads(body)
        except (SignatureError, orjson.JSONDecodeError) as exc:
            return self._reject(401 if isinstance(exc, SignatureError) else 400, str(exc))
        key = _event_id(event)
        if key is None:
            return self._reject(400, "the signed body carries no event_id")
        with self._lock:
            if key in self._seen:
                return 200, "duplicate"
            self._seen.add(key)
            self.events.append(event)
            if self.out is not None:
                with self.out.open("ab") as f:
                    f.write(orjson.dumps({"event_id": key, **event}) + b"\n")
        if self.on_event is not None:
            self.on_event(event)
        return 200, "stored"

    def _reject(self, status: int, reason: str) -> tuple[int, str]:
        with self._lock:
            self.rejected += 1
        log.warning("webhook rejected: %s", reason)
        return status, reason

    def __enter__(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            timeout = CLIENT_TIMEOUT_S  # per socket read: a slow client cannot hold a thread

            def do_POST(self) -> None:
                length = _content_length(self.headers.get("Content-Length"))
                if length is None:
                    status, message = 411, "a Content-Length of 0 or more is required"
                elif length > MAX_BODY:
                    status, message = 413, f"body over {MAX_BODY} bytes"
                else:
                    body = self.rfile.read(length)
                    if len(body) < length:
                        return  # the client went away or timed out mid-body
                    status, message = receiver.handle(body, self.headers.get(SIGNATURE_HEADER))
                if status >= 400 and length != 0:
                    self.close_connection = True  # an unread body must not be parsed as a request
                data = message.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("receiver %s", format % args)

        try:
            server = BoundedHTTPServer((self.host, self.port), Handler, self.max_clients)
        except OSError as exc:
            raise ConfigError(f"cannot listen on {self.host}:{self.port} ({exc})") from exc
        self._server = server
        self.port = int(server.server_address[1])
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        return self


def _content_length(header: str | None) -> int | None:
    """The declared body length, or None if it is missing, malformed or negative."""
    if header is None or not header.strip().isdigit():
        return None
    return int(header)
