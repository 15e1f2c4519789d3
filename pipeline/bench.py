"""`edgewatch bench`: every number of BENCHMARKS.md, measured in one run on one broker and topic.

(a) the ceiling: a bare consume + decode loop with the same Kafka client; (b) the full pipeline
(a member running the cascade, outputs acknowledged and offsets committed), with the gate off
and on; (c) the hand-written per-record baseline (`bench_naive`); (d) end-to-end latency at an
offered load of half of (b), replayed from another process; (e) the model per window at batch 1
and 256; (f) state memory per asset with 10,000 assets. (a), (b) and (c) each read the same
records from the same topic with a fresh consumer group, timed from their first record. With
confluent-kafka installed, (a), (b) and (d) are measured again with that client.
"""

from __future__ import annotations

import contextlib
import importlib.util
import platform
import time
import tracemalloc
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgewatch.errors import BrokerError, RecordError
from edgewatch.records import SensorRecord, decode_record, encode_record
from edgewatch.transport import MemoryBroker, StoredMessage
from models.artifacts import OnnxModel
from operators import IncidentTracker, SequenceGuard
from pipeline.app import (
    build_cascade,
    ensure_member_topics,
    load_detector_model,
    make_source,
    open_member,
)
from pipeline.kafka import KafkaSink
from pipeline.member import Member
from pipeline.metrics import STAGES
from pipeline.replay_process import ReplayProcess
from pipeline.settings import KafkaSettings, Settings
from pipeline.state import Changelog, Stateful
from producers.simulated import simulate_fleet

__all__ = ["BenchReport", "run_bench"]


@dataclass
class BenchReport:
    records: int
    machine: str
    rates: dict[str, float] = field(default_factory=dict)  # records/s by measurement
    naive_flagged: float = 0.0
    latency_ms: dict[str, float] = field(default_factory=dict)
    transport_ms: dict[str, float] = field(default_factory=dict)
    latency_confluent_ms: dict[str, float] = field(default_factory=dict)
    offered: float = 0.0
    fetch_wait_ms: int = 10
    model_us: dict[str, float] = field(default_factory=dict)
    bytes_per_asset: float = 0.0
    snapshot_bytes: float = 0.0  # one asset's changelog snapshot
    snapshot_us: float = 0.0


def _with(settings: Settings, **kafka: Any) -> Settings:
    """``settings`` with these Kafka fields replaced."""
    return settings.model_copy(update={"kafka": settings.kafka.model_copy(update=kafka)})


def _topics(settings: Settings, tag: str) -> Settings:
    """Output topics and a consumer group of the run's own."""
    k = settings.kafka
    names = {
        f"{t}_topic": f"{getattr(k, f'{t}_topic')}.{tag}"
        for t in ("detections", "dlq", "incidents")
    }
    return _with(settings, **names, group_id=f"bench-{tag}")


def _ceiling(k: KafkaSettings, bootstrap: str, expected: int) -> float:
    source = make_source(k, bootstrap, f"ceiling-{k.client}-{k.input_topic}", "edgewatch-bench")
    seen, started = 0, 0.0
    try:
        deadline = time.monotonic() + 300
        while seen < expected and time.monotonic() < deadline:
            batch = source.poll(200, 2_000)
            if batch and not seen:
                started = time.perf_counter()
            for m in batch:
                with contextlib.suppress(RecordError):
                    decode_record(m.value or b"")
            seen += len(batch)
    finally:
        source.close()
    return seen / (time.perf_counter() - started)


def _drain(member: Member, expected: int, timeout_s: float = 300.0) -> None:
    deadline = time.monotonic() + timeout_s
    while member.consumed < expected and time.monotonic() < deadline:
        member.step(200, 2_000)
    if member.consumed < expected:
        raise BrokerError(f"the member consumed {member.consumed:,} of {expected:,} records")


def _pipeline(settings: Settings, bootstrap: str, expected: int) -> float:
    with open_member(settings, bootstrap) as member:
        _drain(member, expected)
    return member.consumed / (((member.last_ms or 0) - (member.first_ms or 0)) / 1000)


def _latency(settings: Settings, bootstrap: str, rate: float, seconds: float) -> dict[str, float]:
    ensure_member_topics(bootstrap, settings.kafka)
    expected = int(rate * seconds)
    with open_member(settings, bootstrap) as member:
        deadline = time.monotonic() + 60
        while not member.source.assignment() and time.monotonic() < deadline:
            member.step(100)
        replayer = ReplayProcess(bootstrap, settings.kafka.input_topic, expected, rate)
        try:
            _drain(member, expected, timeout_s=seconds * 3 + 30)
        finally:
            replayer.finish()
    e2e, stages = member.metrics.end_to_end, member.metrics.stages
    out = {f"p{q}": e2e.percentile(q) * 1000 for q in (50, 95, 99)}
    for name, histogram in stages.items():  # where a batch's time goes (per batch)
        out |= {f"{name}_p{q}": histogram.percentile(q) * 1000 for q in (50, 99)}
    return out


def _transport(k: KafkaSettings, bootstrap: str, rate: float, seconds: float) -> dict[str, float]:
    """The floor under (d): a bare consumer's poll time minus each record's Kafka timestamp, at
    the same offered load, with no processing at all."""
    topic = k.input_topic
    source = make_source(k, bootstrap, f"transport-{topic}", "edgewatch-bench")
    waits: list[np.ndarray] = []
    try:
        deadline = time.monotonic() + 60
        while not source.assignment() and time.monotonic() < deadline:
            source.poll(100, 10)
        expected = int(rate * seconds)
        replayer = ReplayProcess(bootstrap, topic, expected, rate)
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
    joined = np.concatenate(waits) if waits else np.zeros(1)
    return {f"p{q}": float(np.percentile(joined, q)) for q in (50, 95, 99)}


def confluent_installed() -> bool:
    return importlib.util.find_spec("confluent_kafka") is not None


def _confluent(
    report: BenchReport,
    base: Settings,
    bootstrap: str,
    tag: str,
    latency_s: float,
    say: Callable[[str], None],
) -> None:
    """(a), (b) and (d) again with the optional confluent-kafka client, same topic and load."""
    conf = _with(base, client="confluent")
    say("(a) consume + decode, confluent-kafka")
    report.rates["a_confluent"] = _ceiling(conf.kafka, bootstrap, report.records)
    say("(b) the pipeline, gate off, confluent-kafka")
    piped = _topics(conf, "bc")
    ensure_member_topics(bootstrap, piped.kafka)
    report.rates["b_confluent"] = _pipeline(piped, bootstrap, report.records)
    say(f"(d) latency at {report.offered:,.0f} records/s, confluent-kafka")
    lat = _with(
        _topics(conf, "dc"), input_topic=f"latc-{tag}", fetch_max_wait_ms=report.fetch_wait_ms
    )
    report.latency_confluent_ms = _latency(lat, bootstrap, report.offered, latency_s)


def _model_us(model: OnnxModel) -> dict[str, float]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, model.seq_len, len(model.channels))).astype(np.float32)
    out = {}
    for batch in (1, 256):
        model.score(x[:batch])
        times = []
        for _ in range(200 if batch == 1 else 30):
            start = time.perf_counter()
            model.score(x[:batch])
            times.append(time.perf_counter() - start)
        out[f"b{batch}"] = float(np.median(times)) / batch * 1e6
    return out


def _state_per_asset(
    settings: Settings, model: OnnxModel, assets: int = 10_000
) -> tuple[float, float, float]:
    """Memory held by the cascade, incident tracker and sequence guard after every one of
    ``assets`` assets has filled one window (gate on, so the prefilter keeps state too); then
    the mean size in bytes and cost in µs of one asset's changelog snapshot."""
    cfg = settings.detector.model_copy(update={"wake_rate": settings.detector.wake_rate or 0.3})
    channels = model.channels
    batch = [
        SensorRecord(f"a{a:05d}", t, t, dict.fromkeys(channels, 0.1 * t), "bench")
        for t in range(model.seq_len)
        for a in range(assets)
    ]
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    cascade, tracker, guard = build_cascade(cfg, model), IncidentTracker(), SequenceGuard()
    for i in range(0, len(batch), 5_000):
        tracker.process(cascade.process(guard.process(batch[i : i + 5_000])))
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    sink = MemoryBroker().sink()
    newest = {r.asset: StoredMessage("in", 0, 0, 0, None, None) for r in batch[-assets:]}
    parts: dict[str, Stateful] = {"detector": cascade, "incidents": tracker, "sequence": guard}
    t0 = time.perf_counter()
    Changelog("state", "bench", lambda _: []).snapshot(sink, parts, newest)
    spent = time.perf_counter() - t0
    size = sum(len(value) for _, _, value, _ in sink.pending)
    return held / assets, size / assets, spent / assets * 1e6


def run_bench(
    settings: Settings,
    bootstrap: str,
    records: int,
    latency_s: float,
    say: Callable[[str], None],
    fetch_wait_ms: int = 10,
) -> BenchReport:
    """``fetch_wait_ms``: the consumers' fetch long-poll cap in the latency runs (d)."""
    tag = uuid.uuid4().hex[:8]
    topic = f"bench-{tag}"
    base = _with(settings, input_topic=topic)
    ensure_member_topics(bootstrap, _topics(base, "b").kafka)
    report = BenchReport(records, f"{platform.machine()}, {platform.python_version()}")
    report.fetch_wait_ms = fetch_wait_ms
    say(f"producing {records:,} records to {topic}")
    sink = KafkaSink(bootstrap)
    try:
        for r in simulate_fleet().records(records):
            sink.send(topic, r.asset.encode(), encode_record(r))
        sink.flush()
    finally:
        sink.close()
    say("(a) consume + decode")
    report.rates["a"] = _ceiling(base.kafka, bootstrap, records)
    say("(b) the pipeline, gate off")
    report.rates["b"] = _pipeline(_topics(base, "b"), bootstrap, records)
    gated = _topics(base, "g")
    gated = gated.model_copy(
        update={"detector": gated.detector.model_copy(update={"wake_rate": 0.3})}
    )
    ensure_member_topics(bootstrap, gated.kafka)
    say("(b) the pipeline, gate at 30%")
    report.rates["b_gated"] = _pipeline(gated, bootstrap, records)
    model = load_detector_model(settings.detector)
    say("(c) the hand-written per-record loop")
    from pipeline.bench_naive import naive_loop

    naive = naive_loop(bootstrap, topic, f"{topic}.naive", records, model.card)
    report.rates["c"] = naive.rate
    report.naive_flagged = naive.flagged / max(naive.records, 1)
    report.offered = 0.5 * report.rates["b"]
    say(f"(d) latency at {report.offered:,.0f} records/s for {latency_s:.0f} s")
    lat = _with(_topics(base, "d"), input_topic=f"lat-{tag}", fetch_max_wait_ms=fetch_wait_ms)
    report.latency_ms = _latency(lat, bootstrap, report.offered, latency_s)
    say("(d) the transport alone at the same load: a bare consumer")
    floor = _with(base, input_topic=f"floor-{tag}", fetch_max_wait_ms=fetch_wait_ms)
    report.transport_ms = _transport(floor.kafka, bootstrap, report.offered, latency_s)
    if confluent_installed():
        _confluent(report, base, bootstrap, tag, latency_s, say)
    say("(e) model per window; (f) state per asset")
    report.model_us = _model_us(model)
    state = _state_per_asset(settings, model)
    report.bytes_per_asset, report.snapshot_bytes, report.snapshot_us = state
    return report


def markdown(report: BenchReport) -> str:
    r = report.rates
    b_a, b_c = r["b"] / r["a"], r["b"] / r["c"]
    lat = report.latency_ms

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    rows: list[tuple[str, Any]] = [
        ("(a) ceiling: consume + decode (kafka-python)", f"{r['a']:,.0f} records/s"),
        ("(b) pipeline, gate off (every window scored)", f"{r['b']:,.0f} records/s"),
        ("(b) pipeline, gate at 30% wake", f"{r['b_gated']:,.0f} records/s"),
        ("(c) hand-written per-record loop",
         f"{r['c']:,.0f} records/s (torch model run for {report.naive_flagged:.0%} of records)"),
        ("(b)/(a), target >= 0.7", f"{b_a:.2f} ({verdict(b_a >= 0.7)})"),
        ("(b)/(c), target >= 5", f"{b_c:.1f} ({verdict(b_c >= 5)})"),
        (f"(d) end-to-end latency at {report.offered:,.0f} records/s (50% of b), "
         f"fetch wait {report.fetch_wait_ms} ms",
         f"p50 {lat['p50']:.1f} ms, p95 {lat['p95']:.1f} ms, p99 {lat['p99']:.1f} ms "
         f"({verdict(lat['p99'] <= 50)}: p99 <= 50 ms)"),
        ("(d) floor: a bare consumer at the same load (poll time - record timestamp)",
         " / ".join(f"p{q} {report.transport_ms[f'p{q}']:.1f} ms" for q in (50, 95, 99))),
        ("(d) per batch in that run: decode / detect / produce / commit, p50 and p99",
         " / ".join(f"{lat[f'{s}_p50']:.1f}, {lat[f'{s}_p99']:.1f} ms" for s in STAGES)),
        ("(e) model per window, ONNX Runtime INT8, 1 thread",
         f"batch 1: {report.model_us['b1']:.1f} µs; batch 256: {report.model_us['b256']:.2f} µs"),
        ("(f) state per asset, 10,000 assets", f"{report.bytes_per_asset / 1024:.1f} KiB"),
        ("(f) its changelog snapshot (`--changelog-topic`), per asset and checkpoint",
         f"{report.snapshot_bytes / 1024:.1f} KiB, {report.snapshot_us:.0f} µs to build"),
    ]  # fmt: skip
    if "b_confluent" in r:
        a_c, b_c, lat_c = r["a_confluent"], r["b_confluent"], report.latency_confluent_ms
        rows += [
            ("optional confluent-kafka client: (a) ceiling", f"{a_c:,.0f} records/s"),
            ("optional confluent-kafka client: (b) pipeline, gate off",
             f"{b_c:,.0f} records/s; (b)/(a) {b_c / a_c:.2f}; "
             f"{b_c / r['b']:.1f}x the kafka-python pipeline; (b)/(c) {b_c / r['c']:.1f}"),
            (f"optional confluent-kafka client: (d) latency at {report.offered:,.0f} records/s",
             f"p50 {lat_c['p50']:.1f} ms, p95 {lat_c['p95']:.1f} ms, p99 {lat_c['p99']:.1f} ms "
             f"({verdict(lat_c['p99'] <= 50)}: p99 <= 50 ms)"),
        ]  # fmt: skip
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`edgewatch bench`); every number below comes from one run, on",
        f"one broker and topic ({report.records:,} simulated-fleet records, 6 partitions, the",
        f"embedded broker unless `-b` was given). Machine: {report.machine}. These machines are",
        "shared and noisy: compare the ratios, not the absolute numbers, across runs.",
        "Latency runs cap the consumers' fetch long poll (`kafka.fetch_max_wait_ms`, here",
        f"{report.fetch_wait_ms} ms): the embedded broker answers a waiting fetch only when that",
        "wait ends, so the cap adds to every poll; Apache Kafka answers as soon as data arrives.",
        "",
        "| measurement | result |",
        "|---|---|",
        *[f"| {what} | {value} |" for what, value in rows],
        "",
    ]
    return "\n".join(lines)
