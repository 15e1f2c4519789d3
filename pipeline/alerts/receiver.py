"""`Receiver`: the reference webhook receiver behind `edgewatch webhook-receiver`.

It verifies each request's signature and timestamp (401 with the reason otherwise), answers a
duplicate event id with 200 without storing it again, and stores each new event: in memory, as a
JSON line appended to ``out`` when given, and through ``on_event`` (the CLI prints it).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson

from edgewatch.errors import ConfigError, SignatureError
from edgewatch.pipeline.alerts.webhooks import EVENT_HEADER, SIGNATURE_HEADER, verify
from edgewatch.pipeline.serving import ServedInThread

__all__ = ["Receiver"]

log = logging.getLogger(__name__)
MAX_BODY = 1 << 20


class Receiver(ServedInThread):
    def __init__(
        self,
        secret: bytes,
        host: str = "127.0.0.1",
        port: int = 0,
        out: Path | None = None,
        tolerance_ms: int = 300_000,
        on_event: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.secret, self.host, self.port, self.out = secret, host, port, out
        self.tolerance_ms = tolerance_ms
        self.on_event = on_event
        self.events: list[dict[str, Any]] = []
        self.rejected = 0
        self._seen: set[str] = set()
        if out is not None and out.is_file():
            for line in out.read_bytes().splitlines():
                self._seen.add(str(orjson.loads(line).get("event_id")))
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def handle(self, body: bytes, signature: str | None, event_id: str | None) -> tuple[int, str]:
        """Status and message for one request (the HTTP handler's logic, testable alone)."""
        try:
            verify(self.secret, signature, body, time.time_ns() // 1_000_000, self.tolerance_ms)
            event = orjson.loads(body)
        except (SignatureError, orjson.JSONDecodeError) as exc:
            with self._lock:
                self.rejected += 1
            log.warning("webhook rejected: %s", exc)
            return 401 if isinstance(exc, SignatureError) else 400, str(exc)
        key = event_id or str(event.get("event_id"))
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

    def __enter__(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    status, message = 413, f"body over {MAX_BODY} bytes"
                else:
                    status, message = receiver.handle(
                        self.rfile.read(length),
                        self.headers.get(SIGNATURE_HEADER),
                        self.headers.get(EVENT_HEADER),
                    )
                data = message.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("receiver %s", format % args)

        try:
            server = ThreadingHTTPServer((self.host, self.port), Handler)
        except OSError as exc:
            raise ConfigError(f"cannot listen on {self.host}:{self.port} ({exc})") from exc
        self._server = server
        self.port = int(server.server_address[1])
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        return self
