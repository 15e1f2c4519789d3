"""BENCHMARKS.md from one `edgewatch bench` run: `BenchReport` holds the measurements,
`markdown` renders them with each target's verdict."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from edgewatch.pipeline.bench.cascade import CascadeCost
from edgewatch.pipeline.bench.peer import PeerRounds
from edgewatch.pipeline.bench.scaling import Scaling
from edgewatch.pipeline.metrics.registry import STAGES

__all__ = ["BenchReport", "markdown"]


@dataclass
class BenchReport:
    records: int
    machine: str
    rates: dict[str, float] = field(default_factory=dict)  # records/s by measurement
    naive_flagged: float = 0.0
    latency_ms: dict[str, float] = field(default_factory=dict)
    transport_ms: dict[str, float] = field(default_factory=dict)
    latency_other_ms: dict[str, float] = field(default_factory=dict)  # the other client's
    offered: float = 0.0
    detections_per_record: float = 0.0  # what (b) sent
    fetch_wait_ms: int = 10
    model_us: dict[str, float] = field(default_factory=dict)
    bytes_per_asset: float = 0.0
    snapshot_bytes: float = 0.0  # one asset's changelog snapshot
    snapshot_us: float = 0.0
    cascade: list[CascadeCost] = field(default_factory=list)  # (g)
    client: str = "confluent"  # the member's Kafka client (settings)
    other_client: str | None = None  # measured beside it, if any
    scaling: Scaling | None = None  # (h)
    peer: PeerRounds | None = None  # (i)
    cores: int = 1
    load: list[float] = field(default_factory=list)  # 1-minute load average at start and end
    broker: str = "the embedded broker (tansu)"
    stage_us: dict[str, float] = field(default_factory=dict)  # (b): µs per record by stage
    cpu_us: float = 0.0  # (b): the member process's CPU time per record (every thread)


def _stamps(lat: dict[str, float]) -> str:
    """Which clock the latency's timestamps are from."""
    if lat.get("log_append"):
        return "append time (LogAppendTime: the broker's clock)"
    return "timestamp (the broker kept the producers' CreateTime: it ignored LogAppendTime)"


def markdown(report: BenchReport) -> str:
    r = report.rates
    b_a, b_c = r["b"] / r["a"], r["b"] / r["c"]
    lat = report.latency_ms

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    rows: list[tuple[str, Any]] = [
        (f"(a) ceiling: consume + decode ({report.client})", f"{r['a']:,.0f} records/s"),
        ("(b) pipeline, default gate", f"{r['b']:,.0f} records/s"),
        ("(b) where a record's time goes, default gate: the member's stages per record "
         "(decode = JSON + validation, detect = windows + scaling + gate + model, produce = "
         "send + acknowledgement, commit; the rest is polling and the loop)",
         " / ".join(f"{s} {report.stage_us.get(s, 0.0):.1f} µs" for s in STAGES)
         + f" / the rest {1e6 / r['b'] - sum(report.stage_us.values()):.1f} µs; "
         f"in all 1/(b) = {1e6 / r['b']:.1f} µs"),
        ("(b) CPU per record, default gate: the member's process, every thread (librdkafka's, "
         "the model's)", f"{report.cpu_us:.1f} µs"),
        ("(b) pipeline, gate off (every window scored)", f"{r['b_off']:,.0f} records/s"),
        ("(b) pipeline, prefilter gate at 30% wake", f"{r['b_gated']:,.0f} records/s"),
        ("(c) hand-written per-record loop",
         f"{r['c']:,.0f} records/s (torch model run for {report.naive_flagged:.0%} of records)"),
        ("(b)/(a), target >= 0.7", f"{b_a:.2f} ({verdict(b_a >= 0.7)})"),
        ("(a) + the output I/O of (b): consume + decode, send its "
         f"{report.detections_per_record:.3f} detections per record, flush each batch",
         f"{r['a_io']:,.0f} records/s; (b) over this: {r['b'] / r['a_io']:.2f}"),
        ("(b)/(c), target >= 5", f"{b_c:.1f} ({verdict(b_c >= 5)})"),
        (f"(d) end-to-end latency at {report.offered:,.0f} records/s (50% of b) from a load "
         f"generator in its own process, fetch wait {report.fetch_wait_ms} ms: detection "
         f"{_stamps(lat)} minus its input record's, joined on (asset, seq), first 5 s left out",
         f"p50 {lat['p50']:.1f} ms, p95 {lat['p95']:.1f} ms, p99 {lat['p99']:.1f} ms over "
         f"{lat['joined']:,.0f} detections ({verdict(lat['p99'] <= 50)}: p99 <= 50 ms)"),
        ("(d) the same run as the member saw it: record timestamp to acknowledged output",
         " / ".join(f"p{q} {lat[f'member_p{q}']:.1f} ms" for q in (50, 95, 99))),
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
    off = {c.batch: c.cpu_us for c in report.cascade if c.gate == "off"}
    for c in report.cascade:
        change = c.cpu_us / off[c.batch] - 1
        more_less = f"{abs(change):.0%} {'more' if change > 0 else 'less'} than gate off"
        saved = f"; {more_less}" if c.gate != "off" else ""
        rows.append(
            (f"(g) cascade CPU per record, gate {c.gate}, {c.batch:,} record(s) per call",
             f"{c.cpu_us:.1f} µs, model woken for {c.wake_rate:.1%} of windows{saved}")
        )  # fmt: skip
    if "b_other" in r:
        a_o, b_o, lat_o, name = (
            r["a_other"],
            r["b_other"],
            report.latency_other_ms,
            report.other_client,
        )
        rows += [
            (f"other client, {name}: (a) ceiling", f"{a_o:,.0f} records/s"),
            (f"other client, {name}: (b) pipeline, default gate",
             f"{b_o:,.0f} records/s; (b)/(a) {b_o / a_o:.2f}; the default client's pipeline is "
             f"{r['b'] / b_o:.1f}x this; (b)/(c) {b_o / r['c']:.1f}"),
            (f"other client, {name}: (d) latency at {report.offered:,.0f} records/s",
             f"p50 {lat_o['p50']:.1f} ms, p95 {lat_o['p95']:.1f} ms, p99 {lat_o['p99']:.1f} ms "
             f"({verdict(lat_o['p99'] <= 50)}: p99 <= 50 ms)"),
        ]  # fmt: skip
    if report.scaling is not None:
        sc = report.scaling
        one, two = sc.rates[1], sc.rates[2]
        rows.append(
            (f"(h) member processes (`run --members N`), {sc.assets} assets over "
             f"{sc.partitions} partitions, {sc.records:,} records, every window emitted",
             f"1: {one:,.0f} records/s; 2: {two:,.0f} records/s; 2 over 1: {two / one:.2f}x "
             f"on {report.cores} cores")
        )  # fmt: skip
    if report.peer is not None:
        pr = report.peer
        each = ", ".join(f"{x:.2f}" for x in pr.ratios)
        rows.append(
            (f"(i) Quix Streams peer (`benchmarks/peers/quix_peer.py`: JSON, per-asset EW mean "
             f"and variance in RocksDB state, \\|z\\| > 1.4 produced: {pr.flagged:.1%} of "
             f"records), same topic, {len(pr.ratios)} interleaved rounds, one process each",
             f"edgewatch (b) median {statistics.median(pr.member):,.0f} records/s ("
             f"{statistics.median(pr.member_cpu_per_record_us):.1f} µs CPU per record), Quix "
             f"{statistics.median(pr.peer):,.0f} records/s ("
             f"{statistics.median(pr.peer_cpu_per_record_us):.1f} µs CPU per record); "
             f"in-round ratio median {pr.ratio:.2f}x (rounds {each}; "
             f"{verdict(pr.ratio >= 1.5)}: >= 1.5x)")
        )  # fmt: skip
    load = " to ".join(f"{x:.2f}" for x in report.load) or "unknown"
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`edgewatch bench`); every number below comes from one run, on",
        f"one broker and topic ({report.records:,} simulated-fleet records, 6 partitions) on",
        f"{report.broker}. Machine: {report.machine}, {report.cores} cores,",
        f"1-minute load average {load} over the run. These machines are shared and noisy:",
        "compare the ratios, not the absolute numbers, across runs.",
        "Latency runs cap the consumers' fetch long poll (`kafka.fetch_max_wait_ms`, here",
        f"{report.fetch_wait_ms} ms): the embedded broker answers a fetch that finds no data only",
        "when that wait ends, even if data arrives meanwhile; Apache Kafka answers on arrival.",
        "",
        "| measurement | result |",
        "|---|---|",
        *[f"| {what} | {value} |" for what, value in rows],
        "",
    ]
    return "\n".join(lines)
