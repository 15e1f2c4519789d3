"""What the HTTP servers run in-process (metrics, webhook receiver) share: a daemon thread that
serves, and a context-manager exit that stops it."""

from __future__ import annotations

import socketserver
import threading
from types import TracebackType

__all__ = ["ServedInThread"]


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
