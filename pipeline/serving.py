"""What the HTTP servers run in-process (metrics, webhook receiver) share: a daemon thread that
serves, a context-manager exit that stops it, and a threading server with a bound on the
connections it serves at once."""

from __future__ import annotations

import socketserver
import threading
from http.server import ThreadingHTTPServer
from types import TracebackType
from typing import Any

__all__ = ["BoundedHTTPServer", "ServedInThread"]


class BoundedHTTPServer(ThreadingHTTPServer):
    """A thread per connection, at most ``max_clients`` at once: a further connection is closed
    as soon as it is accepted, so a flood of idle connections cannot exhaust threads."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: Any, max_clients: int) -> None:
        super().__init__(address, handler)
        self._slots = threading.BoundedSemaphore(max_clients)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


class ServedInThread:
    """Base of a context manager whose ``__enter__`` sets ``_server`` and ``_thread``."""

    _server: socketserver.BaseServer | None = None
    _thread: threading.Thread | None = None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
