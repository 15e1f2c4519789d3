"""Bench (d), end-to-end latency at an offered load from a load generator in its own process, and
its floor (a bare consumer at the same load).

The load generator encodes its records before it starts pacing them (`Encoded`): on two cores it
shares the machine with the broker and the member, and every µs it spends is the member's.

As the broker sees it: the latency run's input and detections topics stamp each message with the
broker's clock on append (``message.timestamp.type=LogAppendTime``), and every detection is
joined to its input record on (asset, seq): output append time minus input append time, with no
clock of the member's or the load generator's in it."""

from __future__ import annotations

import time

import numpy as np
import orjson

from edgewatch.errors import BrokerError, RecordError
from edgewatch.pipeline.app import ensure_member_topics, make_source, open_member
from edgewatch.pipeline.jobs.replay_process import ReplayProcess
from edgewatch.pipeline.kafka.kafka_python import ensure_topics, read_topic
from edgewatch.pipeline.member import Member
from edgewatch.pipeline.settings import KafkaSettings, Settings
from edgewatch.records import decode_record

__all__ = ["LOG_APPEND", "broker_latency", "create_latency_topics", "drain", "latency", "transport"]

LOG_APPEND = {"message.timestamp.type": "LogAppendTime"}
_LOG_APPEND_TIME = 1  # a consumed record's timestamp_type when the broker stamped it


def create_latency_topics(bootstrap: str, k: KafkaSettings) -> None:
    """The input and detections topics of a latency run, broker-stamped (before the member
    creates the rest)."""
    topics = {k.input_topic: k.partitions, k.detections_topic: k.partitions}
    ensure_topics(bootstrap, topics, dict.fromkeys(topics, LOG_APPEND))


def broker_latency(bootstrap: str, k: KafkaSettings, skip_s: float = 5.0) -> dict[str, float]:
    """p50/p95/p99 in ms of detection append time - input append time, joined on (asset, seq),
    leaving out the inputs of the first ``skip_s`` seconds; also how many were joined and
    whether the broker did stamp both topics (``log_append`` 1.0) or kept the producers'."""
    appended: dict[tuple[str, int], int] = {}
    stamped = True
    for m in read_topic(bootstrap, k.input_topic, timeout_s=120):
        stamped = stamped and getattr(m, "timestamp_type", None) == _LOG_APPEND_TIME
        try:
            r = decode_record(m.value or b"")
        except RecordError:
            continue
        appended[(r.asset, r.seq)] = m.timestamp
    if not appended:
        raise BrokerError(f"the latency run's input topic {k.input_topic!r} is empty")
    start = min(appended.values()) + skip_s * 1000
    waits = []
    for m in read_topic(bootstrap, k.detections_topic, timeout_s=120):
        stamped = stamped and getattr(m, "timestamp_type", None) == _LOG_APPEND_TIME
        d = orjson.loads(m.value or b"")
        t_in = appended.get((d.get("asset"), d.get("seq")))
        if t_in is not None and t_in >= start:
            waits.append(m.timestamp - t_in)
    if not waits:
        raise BrokerError(f"no detection of {k.detections_topic!r} joined an input record")
    ms = np.asarray(waits, np.float64)
    out = {f"p{q}": float(np.percentile(ms, q)) for q in (50, 95, 99)}
    return out | {"joined": float(len(ms)), "log_append": float(stamped)}


def drain(member: Member, expected: int, timeout_s: float = 300.0) -> None:
    deadline = time.monotonic() + timeout_s
    while member.consumed < expected and time.monotonic() < deadline:
        member.step(200, 2_000)
    if member.consumed < expected:
        raise BrokerError(f"the member consumed {member.consumed:,} of {expected:,} records")


def latency(settings: Settings, bootstrap: str, rate: float, seconds: float) -> dict[str, float]:
    """End-to-end latency at ``rate`` from a load generator in its own process: from the
    broker's timestamps (`broker_latency`: p50, p95, p99), and as the member saw it (record
    timestamp to acknowledged output: member_p50...), with each stage's time per batch."""
    create_latency_topics(bootstrap, settings.kafka)
    ensure_member_topics(bootstrap, settings.kafka)
    expected = int(rate * seconds)
    with open_member(settings, bootstrap) as member:
        deadline = time.monotonic() + 60
        while not member.source.assignment() and time.monotonic() < deadline:
            member.step(100)
        replayer = ReplayProcess(
            bootstrap, settings.kafka.input_topic, expected, rate, prepare=True
        )
        try:
            drain(member, expected, timeout_s=seconds * 3 + 30)
        finally:
            replayer.finish()
    e2e, stages = member.metrics.end_to_end, member.metrics.stages
    out = broker_latency(bootstrap, settings.kafka, skip_s=min(5.0, seconds / 4))
    out |= {f"member_p{q}": e2e.percentile(q) * 1000 for q in (50, 95, 99)}
    for name, histogram in stages.items():  # where a batch's time goes (per batch)
        out |= {f"{name}_p{q}": histogram.percentile(q) * 1000 for q in (50, 99)}
    return out


def transport(k: KafkaSettings, bootstrap: str, rate: float, seconds: float) -> dict[str, float]:
    """The floor under (d): a bare consumer's poll time minus each record's Kafka timestamp, at
    the same offered load, with no processing at all."""
    topic = k.input_topic
    ensure_member_topics(bootstrap, k)  # explicitly: a consumer need not create its topic
    source = make_source(k, bootstrap, f"transport-{topic}", "edgewatch-bench")
    waits: list[np.ndarray] = []
    try:
        deadline = time.monotonic() + 60
        while not source.assignment() and time.monotonic() < deadline:
            source.poll(100, 10)
        expected = int(rate * seconds)
        replayer = ReplayProcess(bootstrap, topic, expected, rate, prepare=True)
        seen, deadline = 0, time.monotonic() + seconds * 3 + 30
        try:
            while seen < expected and time.monotonic() < deadline:
                batch = source.poll(200, 2_000)
                now_ms = time.time() * 1000
                waits.append(now_ms - np.array([m.timestamp for m in batch], np.float64))
                seen += len(batch)
        finally:
            replayer.finish()
    finally:
        source.close()
    joined = np.concatenate(waits) if waits else np.zeros(0)
    if not len(joined):
        raise BrokerError(f"the bare consumer of {topic!r} received none of {expected:,} records")
    return {f"p{q}": float(np.percentile(joined, q)) for q in (50, 95, 99)}
