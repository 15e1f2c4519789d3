"""`edgewatch run --members N`: N members of one consumer group, a process each, under one
supervisor, so that one command uses every core (a member runs its detector under one GIL).

The supervisor starts each member as ``python -m edgewatch.pipeline.supervisor`` with the
settings as JSON on its standard input (nothing is pickled), member ``i`` serving its metrics on
``metrics_port + i`` (each on a free port if that is 0). A member that dies is restarted after a
back-off, and the restart is counted: the member's ``edgewatch_member_restarts`` gauge says how
many times its slot was restarted, and the supervisor logs each. SIGTERM or Ctrl-C stops every
member cleanly (the batch in hand finished, everything committed); a member that exits 0 by
itself (``--until-idle``) is done and not restarted. A member whose supervisor is gone (killed)
stops by itself. A slot that dies ``GIVE_UP`` times in a row within ``QUICK_S`` of its start is
a configuration or broker problem, not a crash: the supervisor stops all and says so.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

import orjson

from edgewatch.errors import EdgewatchError
from edgewatch.pipeline.settings import Settings

__all__ = ["Supervisor", "member_count", "serve_member"]

log = logging.getLogger(__name__)

GIVE_UP = 5
QUICK_S = 10.0
STOP_WAIT_S = 60.0


def member_count(requested: int | None, partitions: int) -> int:
    """``requested``, else one member per core, at most one per input partition."""
    if requested is not None:
        return requested
    return max(1, min(os.cpu_count() or 1, partitions))


def serve_member(
    settings: Settings,
    stop: threading.Event,
    until_idle_s: float | None,
    restarts: int = 0,
    name: str = "member",
) -> None:
    """Run one member with its metrics server until ``stop`` (or idle), saying on standard error
    where its metrics are and, at the end, what it did."""
    from edgewatch.pipeline.app import open_member
    from edgewatch.pipeline.cli.common import console
    from edgewatch.pipeline.metrics.registry import MetricsServer

    k = settings.kafka
    if k.bootstrap_servers is None:
        raise EdgewatchError("a member needs kafka.bootstrap_servers")
    with (
        open_member(settings, k.bootstrap_servers) as member,
        MetricsServer(member.metrics.registry, settings.metrics_host, settings.metrics_port) as srv,
    ):
        member.metrics.member_restarts.set(restarts)
        console.print(f"{name} of group {k.group_id!r} on {k.input_topic!r}; metrics: {srv.url}")
        member.run(stop, k.poll_timeout_ms, k.max_poll_records, until_idle_s)
    unfit = f", {member.unfit:,} unfit (not scored: lacked a channel)" if member.unfit else ""
    console.print(f"stopped: {member.consumed:,} records, {member.detections:,} detections{unfit}")


@dataclass
class _Slot:
    index: int
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    restarts: int = 0
    quick_deaths: int = 0
    done: bool = False
    retry_at: float = 0.0
    history: list[int] = field(default_factory=list)  # exit codes of the members that died


class Supervisor:
    """Runs ``members`` member processes of ``settings`` until stopped or all are done."""

    def __init__(self, settings: Settings, members: int, until_idle_s: float | None) -> None:
        if members < 1:
            raise EdgewatchError(f"--members must be at least 1, got {members}")
        self.settings, self.until_idle_s = settings, until_idle_s
        self.slots = [_Slot(i) for i in range(members)]

    @property
    def restarts(self) -> int:
        return sum(s.restarts for s in self.slots)

    def _start(self, slot: _Slot) -> None:
        settings = self.settings
        payload = settings.model_dump(mode="json")  # SecretStr dumps masked: put it back
        payload["webhooks"]["secret"] = settings.webhooks.secret.get_secret_value()
        payload["metrics_port"] = settings.metrics_port + slot.index if settings.metrics_port else 0
        args = [sys.executable, "-m", __name__, "--slot", str(slot.index)]
        args += ["--restarts", str(slot.restarts), "--parent", str(os.getpid())]
        if self.until_idle_s is not None:
            args += ["--until-idle", str(self.until_idle_s)]
        process = subprocess.Popen(args, stdin=subprocess.PIPE)
        assert process.stdin is not None
        with contextlib.suppress(BrokenPipeError):  # it died at once: _watch sees and restarts
            process.stdin.write(orjson.dumps(payload))
            process.stdin.close()
        slot.process, slot.started = process, time.monotonic()

    def run(self, stop: threading.Event, tick_s: float = 0.2) -> None:
        """Start every member; restart the ones that die; on ``stop`` stop all and wait."""
        for slot in self.slots:
            self._start(slot)
        try:
            while not stop.is_set() and not all(s.done for s in self.slots):
                for slot in self.slots:
                    self._watch(slot)
                stop.wait(tick_s)
        finally:
            self._stop_all()

    def _watch(self, slot: _Slot) -> None:
        now = time.monotonic()
        if slot.done:
            return
        if slot.process is None:
            if now >= slot.retry_at:
                self._start(slot)
            return
        code = slot.process.poll()
        if code is None:
            return
        slot.process = None
        if code == 0:
            slot.done = True
            return
        slot.history.append(code)
        slot.quick_deaths = slot.quick_deaths + 1 if now - slot.started < QUICK_S else 1
        if slot.quick_deaths >= GIVE_UP:
            raise EdgewatchError(
                f"member {slot.index} died {GIVE_UP} times within {QUICK_S:g} s of starting "
                f"(exit codes {slot.history[-GIVE_UP:]}): see its errors above; fix the "
                "settings or the broker and start again"
            )
        slot.restarts += 1
        backoff = min(30.0, 0.5 * 2 ** (slot.quick_deaths - 1))
        slot.retry_at = now + backoff
        log.warning(
            "member %d died (%s); restart %d in %.1f s",
            slot.index, _death(code), slot.restarts, backoff,
        )  # fmt: skip

    def _stop_all(self) -> None:
        running = [s.process for s in self.slots if s.process is not None]
        for process in running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_WAIT_S
        for process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("member pid %d did not stop in %.0f s: killed", process.pid, STOP_WAIT_S)
                process.kill()
                process.wait()


def _death(code: int) -> str:
    return f"signal {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"


def _orphan_watch(parent: int, stop: threading.Event) -> None:
    """Stop the member once its supervisor is gone (re-parented), however it went."""
    while not stop.wait(1.0):
        if os.getppid() != parent:
            log.warning("supervisor %d is gone: stopping", parent)
            stop.set()


def main(argv: list[str] | None = None) -> int:
    """A member process of the supervisor: settings JSON on standard input."""
    import argparse

    from edgewatch.pipeline.cli.common import configure_logging, stop_on_signals

    parser = argparse.ArgumentParser(prog="edgewatch-member")
    parser.add_argument("--slot", type=int, required=True)
    parser.add_argument("--restarts", type=int, default=0)
    parser.add_argument("--parent", type=int, required=True)
    parser.add_argument("--until-idle", type=float)
    args = parser.parse_args(argv)
    settings = Settings.model_validate_json(sys.stdin.buffer.read())
    configure_logging(settings)
    stop = stop_on_signals()
    threading.Thread(target=_orphan_watch, args=(args.parent, stop), daemon=True).start()
    try:
        serve_member(settings, stop, args.until_idle, args.restarts, name=f"member {args.slot}")
    except EdgewatchError as exc:
        log.error("member %d: %s", args.slot, exc)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
