"""`ReplayProcess`: the simulated fleet replayed into Kafka from a separate process.

As in production, the producer must not share the consumer's GIL: the demo and the bench measure
the member, not a replay competing with it for one interpreter.
"""

from __future__ import annotations

import multiprocessing
import queue
import signal
from collections.abc import Iterable
from dataclasses import replace

from edgewatch.errors import BrokerError, DependencyMissingError
from edgewatch.pipeline.kafka.confluent import ConfluentSink
from edgewatch.pipeline.kafka.kafka_python import KafkaSink
from edgewatch.producers.replay import Encoded, ReplayStats, StopFlag, replay
from edgewatch.producers.simulated import FleetSpec, simulate_fleet
from edgewatch.records import SensorRecord
from edgewatch.transport import MessageSink

__all__ = ["ReplayProcess", "fleet_for"]


class ReplayProcess:
    """The replay in its own process, as in production: it must not share the member's GIL."""

    def __init__(
        self, bootstrap: str, topic: str, limit: int, rate: float | None, prepare: bool = False
    ) -> None:
        """``prepare``: encode every record before the first send (a load generator: it then
        takes less of the machine it shares with what it measures; holds them all in memory)."""
        ctx = multiprocessing.get_context("spawn")
        self._stop = ctx.Event()
        self._results: multiprocessing.Queue[ReplayStats | str] = ctx.Queue()
        self._process = ctx.Process(
            target=_replay_main,
            args=(bootstrap, topic, limit, rate, prepare, self._stop, self._results),
            name="edgewatch-replay",
            daemon=True,
        )
        self._process.start()

    def failed(self) -> str | None:
        """The replay's error message once it has failed, else None."""
        if self._process.is_alive() or self._process.exitcode == 0:
            return None
        return f"the replay process exited with code {self._process.exitcode}"

    def finish(self, timeout_s: float = 30.0) -> ReplayStats:
        self._stop.set()
        try:
            result = self._results.get(timeout=timeout_s)
        except queue.Empty:
            result = self.failed() or "the replay process did not report"
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        if isinstance(result, str):
            raise BrokerError(f"replay failed: {result}")
        return result


def fleet_for(limit: int) -> FleetSpec:
    """The default fleet, with longer series where ``limit`` records need more (a latency run
    at a high rate asked for more than the fleet's 250,000 and waited for the rest)."""
    spec = FleetSpec()
    return replace(spec, points=max(spec.points, -(-limit // spec.assets)))


def _sink(bootstrap: str) -> MessageSink:
    """librdkafka where installed (a load generator must outpace the member it measures: with
    kafka-python it could not offer half of what a confluent-kafka member takes), else
    kafka-python."""
    try:
        return ConfluentSink(bootstrap, client_id="edgewatch-replay")
    except DependencyMissingError:
        return KafkaSink(bootstrap, client_id="edgewatch-replay")


def _replay_main(
    bootstrap: str,
    topic: str,
    limit: int,
    rate: float | None,
    prepare: bool,
    stop: StopFlag,
    results: multiprocessing.Queue[ReplayStats | str],
) -> None:  # pragma: no cover - runs in the replay process
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    try:
        sink = _sink(bootstrap)
        try:
            fleet = simulate_fleet(fleet_for(limit)).records(limit)
            records: Iterable[SensorRecord | Encoded] = (
                [Encoded.of(r) for r in fleet] if prepare else fleet
            )
            results.put(replay(records, sink, topic, rate=rate, stop=stop))
        finally:
            sink.close()
    except Exception as exc:
        results.put(f"{type(exc).__name__}: {exc}")
