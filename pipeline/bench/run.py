"""`edgewatch bench`: every number of BENCHMARKS.md, measured in one run on one broker and topic.

(a) the ceiling: a bare consume + decode loop with the same Kafka client, and again sending as
many detection-sized messages as (b) sent (the pipeline's I/O alone); (b) the full pipeline
(a member running the cascade, outputs acknowledged and offsets committed) with the default
gate, the gate off and the prefilter gate at 30%; (c) the hand-written per-record baseline
(`bench_naive`); (d) end-to-end latency at an offered load of half of (b), replayed from another
process; (e) the model per window at batch 1 and 256; (f) state memory per asset with 10,000
assets; (g) the cascade's CPU time per record with the gate off and on (`bench/cascade.py`); (h) 1
and 2 member processes on a 240-asset fleet (`bench/scaling.py`); (i) with ``quix``, the
member beside a Quix Streams app in interleaved rounds (`bench/peer.py`).
(a), (b) and (c) each read the same records from the same topic with a fresh consumer group,
timed from their first record. (a), (b) and (d) are measured again with the other Kafka client
(kafka-python beside the default confluent-kafka, or confluent-kafka where installed beside
kafka-python).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import platform
import time
import tracemalloc
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from edgewatch.detections import Detection
from edgewatch.errors import RecordError
from edgewatch.models.artifacts import OnnxModel
from edgewatch.operators import IncidentTracker, SequenceGuard
from edgewatch.pipeline.app import (
    build_cascade,
    ensure_member_topics,
    load_detector_model,
    make_sink,
    make_source,
    open_member,
)
from edgewatch.pipeline.bench.cascade import cascade_costs, model_us
from edgewatch.pipeline.bench.latency import drain, latency, transport
from edgewatch.pipeline.bench.markdown import BenchReport, markdown
from edgewatch.pipeline.bench.peer import peer_rounds
from edgewatch.pipeline.bench.scaling import scaling
from edgewatch.pipeline.kafka.kafka_python import KafkaSink, ensure_topics
from edgewatch.pipeline.settings import KafkaSettings, Settings
from edgewatch.pipeline.state import Changelog, Stateful
from edgewatch.producers.simulated import simulate_fleet
from edgewatch.records import SensorRecord, decode_record, encode_record
from edgewatch.transport import MemoryBroker, StoredMessage

__all__ = ["BenchReport", "markdown", "run_bench"]


def _with(settings: Settings, **kafka: Any) -> Settings:
    """``settings`` with these Kafka fields replaced."""
    return settings.model_copy(update={"kafka": settings.kafka.model_copy(update=kafka)})


def _topics(settings: Settings, tag: str) -> Settings:
    """Output topics and a consumer group of the measurement's own (``settings`` has the bench
    run's own topics: nothing is shared with an earlier run on the same broker)."""
    k = settings.kafka
    names = {
        f"{t}_topic": f"{getattr(k, f'{t}_topic')}.{tag}"
        for t in ("detections", "dlq", "incidents")
    }
    return _with(settings, **names, group_id=f"{k.input_topic}-{tag}")


def _ceiling(k: KafkaSettings, bootstrap: str, expected: int, outputs: float = 0.0) -> float:
    """Records/s of a bare consume + decode loop; with ``outputs`` > 0 it also sends that many
    detection-sized messages per record (keyed by asset) and flushes each batch: the pipeline's
    I/O without its processing."""
    group = f"ceiling-{k.client}-{k.input_topic}-{outputs:g}"
    source = make_source(k, bootstrap, group, "edgewatch-bench")
    sink = make_sink(k, bootstrap, "edgewatch-bench") if outputs else None
    value = _detection_like()
    seen, owed, started = 0, 0.0, 0.0
    try:
        deadline = time.monotonic() + 300
        while seen < expected and time.monotonic() < deadline:
            batch = source.poll(200, 2_000)
            if batch and not seen:
                started = time.perf_counter()
            for m in batch:
                with contextlib.suppress(RecordError):
                    decode_record(m.value or b"")
            if sink is not None:  # the batch's share of sends, keyed by asset as detections are
                owed += outputs * len(batch)
                for m in batch[: int(owed)]:
                    sink.send(k.detections_topic, m.key, value)
                owed -= int(owed)
                sink.flush()
            seen += len(batch)
    finally:
        source.close()
        if sink is not None:
            sink.close()
    return seen / (time.perf_counter() - started)


def _detection_like() -> bytes:
    """A detection of the simulated fleet, as it goes on the wire."""
    return Detection(
        "sim-000", 1_767_225_600_000, 123_456, 0.91, 0.5, True, "edge_cnn_lstm", "0123456789ab",
        0.42, True, ["value"], 1, "simulated",
    ).encode()  # fmt: skip


class Piped(NamedTuple):
    """What one member's run over the bench topic measured."""

    rate: float  # records/s from its first record to its last
    detections: float  # detections sent per record
    cpu_us: float  # CPU time of the process (every thread) per record, in µs


def _pipeline(
    settings: Settings, bootstrap: str, expected: int, stage_us: dict[str, float] | None = None
) -> Piped:
    """One member over ``expected`` records; fills ``stage_us`` (if given) with each stage's time
    per record, in µs."""
    with open_member(settings, bootstrap) as member:
        cpu = time.process_time()
        drain(member, expected)
        cpu = time.process_time() - cpu
    rate = member.consumed / (((member.last_ms or 0) - (member.first_ms or 0)) / 1000)
    if stage_us is not None:
        for name, histogram in member.metrics.stages.items():
            stage_us[name] = histogram.total / max(member.consumed, 1) * 1e6
    consumed = max(member.consumed, 1)
    return Piped(rate, member.detections / consumed, cpu / consumed * 1e6)


def other_client(client: str) -> str | None:
    """The client the bench measures beside ``client``, if it is installed."""
    if client == "confluent":
        return "kafka-python"
    return "confluent" if importlib.util.find_spec("confluent_kafka") is not None else None


def _other(
    report: BenchReport,
    base: Settings,
    bootstrap: str,
    tag: str,
    latency_s: float,
    say: Callable[[str], None],
) -> None:
    """(a), (b) and (d) again with the other Kafka client, same topic and load."""
    other = _with(base, client=report.other_client)
    say(f"(a) consume + decode, {report.other_client}")
    report.rates["a_other"] = _ceiling(other.kafka, bootstrap, report.records)
    say(f"(b) the pipeline, default gate, {report.other_client}")
    piped = _topics(other, "bx")
    ensure_member_topics(bootstrap, piped.kafka)
    report.rates["b_other"] = _pipeline(piped, bootstrap, report.records).rate
    say(f"(d) latency at {report.offered:,.0f} records/s, {report.other_client}")
    lat = _with(
        _topics(other, "dx"), input_topic=f"latx-{tag}", fetch_max_wait_ms=report.fetch_wait_ms
    )
    report.latency_other_ms = latency(lat, bootstrap, report.offered, latency_s)


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
    quix: Path | None = None,
    rounds: int = 3,
) -> BenchReport:
    """``fetch_wait_ms``: the consumers' fetch long-poll cap in the latency runs (d); ``quix``:
    the Python of a virtualenv with Quix Streams, for (i) in ``rounds`` interleaved rounds."""
    tag = uuid.uuid4().hex[:8]
    topic = f"bench-{tag}"
    k = settings.kafka
    outputs = {f"{t}_topic": f"{getattr(k, f'{t}_topic')}.{tag}" for t in ("detections", "dlq")}
    base = _with(
        settings, input_topic=topic, incidents_topic=f"{k.incidents_topic}.{tag}", **outputs
    )
    ensure_member_topics(bootstrap, _topics(base, "b").kafka)
    report = BenchReport(records, f"{platform.machine()}, {platform.python_version()}")
    report.cores, report.load = os.cpu_count() or 1, [os.getloadavg()[0]]
    report.client, report.other_client = settings.kafka.client, other_client(settings.kafka.client)
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
    say("(b) the pipeline, default gate")
    b = _pipeline(_topics(base, "b"), bootstrap, records, report.stage_us)
    report.rates["b"], report.detections_per_record, report.cpu_us = b
    off = _topics(base, "o")
    off = off.model_copy(update={"detector": off.detector.model_copy(update={"gate": "off"})})
    ensure_member_topics(bootstrap, off.kafka)
    say("(b) the pipeline, gate off")
    report.rates["b_off"] = _pipeline(off, bootstrap, records).rate
    say("(a) consume + decode + the pipeline's detection sends")
    io = _topics(base, "io").kafka
    ensure_member_topics(bootstrap, io)
    report.rates["a_io"] = _ceiling(io, bootstrap, records, report.detections_per_record)
    gated = _topics(base, "g")
    gated = gated.model_copy(
        update={"detector": gated.detector.model_copy(update={"gate": None, "wake_rate": 0.3})}
    )
    ensure_member_topics(bootstrap, gated.kafka)
    say("(b) the pipeline, gate at 30%")
    report.rates["b_gated"] = _pipeline(gated, bootstrap, records).rate
    model = load_detector_model(settings.detector)
    say("(c) the hand-written per-record loop")
    from edgewatch.pipeline.bench.naive import naive_loop

    ensure_topics(bootstrap, {f"{topic}.naive": base.kafka.partitions})
    naive = naive_loop(bootstrap, topic, f"{topic}.naive", records, model.card)
    report.rates["c"] = naive.rate
    report.naive_flagged = naive.flagged / max(naive.records, 1)
    report.offered = 0.5 * report.rates["b"]
    say(f"(d) latency at {report.offered:,.0f} records/s for {latency_s:.0f} s")
    lat = _with(_topics(base, "d"), input_topic=f"lat-{tag}", fetch_max_wait_ms=fetch_wait_ms)
    report.latency_ms = latency(lat, bootstrap, report.offered, latency_s)
    say("(d) the transport alone at the same load: a bare consumer")
    floor = _with(base, input_topic=f"floor-{tag}", fetch_max_wait_ms=fetch_wait_ms)
    report.transport_ms = transport(floor.kafka, bootstrap, report.offered, latency_s)
    if report.other_client is not None:
        _other(report, base, bootstrap, tag, latency_s, say)
    if quix is not None:

        def member_rate(i: int) -> tuple[float, float]:
            run = _topics(base, f"q{i}")
            ensure_member_topics(bootstrap, run.kafka)
            piped = _pipeline(run, bootstrap, records)
            return piped.rate, piped.cpu_us

        report.peer = peer_rounds(
            member_rate, quix, bootstrap, topic, records, rounds, say, base.kafka.partitions
        )
    say("(e) model per window; (f) state per asset; (g) the cascade's CPU time")
    report.model_us = model_us(model)
    report.cascade = cascade_costs(settings.detector, model)
    state = _state_per_asset(settings, model)
    report.bytes_per_asset, report.snapshot_bytes, report.snapshot_us = state
    members = _with(settings, bootstrap_servers=bootstrap)
    report.scaling = scaling(members, bootstrap, tag, say, records)
    report.load.append(os.getloadavg()[0])
    return report
