"""Bench (h): records/s of 1 and of 2 member processes (`edgewatch run --members N`'s supervisor)
on one pre-filled topic of a fleet large enough to spread over every partition.

Each run reads the topic with a fresh consumer group, emits every window, and is timed from its
outputs' timestamps on the broker: the middle 80% of its detections (by time) over the time they
span, so that process start-up, the group's first rebalance and the idle tail count in neither.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from edgewatch.errors import BrokerError
from edgewatch.pipeline.kafka.confluent import ConfluentSink
from edgewatch.pipeline.kafka.kafka_python import ensure_topics, read_topic
from edgewatch.pipeline.settings import Settings
from edgewatch.pipeline.supervisor import Supervisor
from edgewatch.producers.simulated import FleetSpec, simulate_fleet
from edgewatch.records import encode_record

__all__ = ["SCALING_FLEET", "Scaling", "scaling"]

#: 240 assets (every partition gets about 40); the bench takes as many records as it needs.
SCALING_FLEET = FleetSpec(assets=240, points=3_000)


@dataclass(frozen=True)
class Scaling:
    assets: int
    records: int
    partitions: int
    rates: dict[int, float]  # members -> records/s


def _fill(bootstrap: str, topic: str, spec: FleetSpec, partitions: int, limit: int) -> int:
    ensure_topics(bootstrap, {topic: partitions})
    sink = ConfluentSink(bootstrap, client_id="edgewatch-bench")
    n = 0
    try:
        for r in simulate_fleet(spec).records(limit):
            sink.send(topic, r.asset.encode(), encode_record(r))
            n += 1
        sink.flush()
    finally:
        sink.close()
    return n


def _rate(stamps_ms: np.ndarray) -> float:
    """Outputs per second over the middle 80% of their timestamps."""
    s = np.sort(stamps_ms)
    lo, hi = int(0.1 * len(s)), int(0.9 * len(s)) - 1
    if hi <= lo or s[hi] <= s[lo]:
        raise BrokerError(f"too few outputs to time a scaling run ({len(s)})")
    return float((hi - lo) / ((s[hi] - s[lo]) / 1000))


def scaling(
    settings: Settings,
    bootstrap: str,
    tag: str,
    say: Callable[[str], None],
    records: int,
    spec: FleetSpec = SCALING_FLEET,
    members: tuple[int, ...] = (1, 2),
) -> Scaling:
    """Fill ``scale-{tag}`` with ``records`` of ``spec``'s fleet (its first readings of every
    asset), then run each count of ``members`` on it."""
    topic, partitions = f"scale-{tag}", settings.kafka.partitions
    say(f"(h) producing {records:,} records of {spec.assets} assets to {topic}")
    records = _fill(bootstrap, topic, spec, partitions, records)
    rates: dict[int, float] = {}
    for n in members:
        say(f"(h) {n} member process(es) on {topic}")
        out = f"{topic}.det{n}"
        k = settings.kafka.model_copy(
            update={
                "bootstrap_servers": bootstrap,
                "input_topic": topic,
                "detections_topic": out,
                "incidents_topic": f"{topic}.inc{n}",
                "dlq_topic": f"{topic}.dlq{n}",
                "group_id": f"bench-scale{n}-{tag}",
            }
        )
        run = settings.model_copy(update={"kafka": k, "emit": "all", "metrics_port": 0})
        ensure_topics(bootstrap, {out: partitions, k.incidents_topic: partitions, k.dlq_topic: 1})
        stop, started = threading.Event(), time.monotonic()
        Supervisor(run, n, until_idle_s=3.0).run(stop)
        stamps = np.array([m.timestamp for m in read_topic(bootstrap, out)], np.float64)
        if len(stamps) < records - spec.assets * 100:  # at most a window's warm-up per asset
            raise BrokerError(
                f"{n} member(s) sent {len(stamps):,} detections for {records:,} records in "
                f"{time.monotonic() - started:.0f} s"
            )
        rates[n] = _rate(stamps)
    return Scaling(spec.assets, records, partitions, rates)
