"""`edgewatch demo`: the whole path on one machine, with a live progress bar and a summary.

simulated fleet -> replay (own process) -> Kafka -> consumer-group member -> detections topic,
with /metrics served throughout. The embedded broker is started unless bootstrap servers are set.
Each run uses its own topics and group (suffix ``demo-<id>``), so runs never see each other's data.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from dataclasses import dataclass

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from edgewatch.errors import BrokerError
from edgewatch.models.artifacts import load_card, shipped_card
from edgewatch.operators.evaluation import Confusion
from edgewatch.pipeline.app import ensure_member_topics, gate_of, open_member
from edgewatch.pipeline.jobs.replay_process import ReplayProcess
from edgewatch.pipeline.kafka.broker import EmbeddedBroker
from edgewatch.pipeline.member import Member
from edgewatch.pipeline.metrics.registry import MetricsServer
from edgewatch.pipeline.settings import Settings
from edgewatch.producers.simulated import FleetSpec

__all__ = ["DemoResult", "run_demo", "summary_table"]


@dataclass(frozen=True, slots=True)
class DemoResult:
    expected: int
    consumed: int
    invalid: int
    detections: int
    confusion: Confusion
    elapsed_s: float
    throughput: float  # records/s through the member, first batch to last
    replay_rate: float
    p50_ms: float
    p99_ms: float
    assets: int
    warmup: int  # records that completed no window
    unfit: int  # records of assets lacking a channel of the model
    wake_rate: float  # windows the gate woke the model for
    gate: str  # what woke it: off, prefilter or sentinel
    incidents: int  # incidents opened
    events_detected: int  # labelled anomaly segments detected / ended
    events_total: int
    metrics_url: str
    interrupted: bool = False  # Ctrl-C ended the run early

    @property
    def complete(self) -> bool:
        return self.consumed >= self.expected


def run_demo(
    settings: Settings,
    *,
    records: int,
    rate: float | None,
    timeout_s: float,
    console: Console,
) -> DemoResult:
    fleet = FleetSpec()
    expected = min(records, fleet.assets * fleet.points)
    run_id = uuid.uuid4().hex[:8]
    k = settings.kafka
    settings = settings.model_copy(
        update={
            "kafka": k.model_copy(
                update={
                    name: f"{getattr(k, name)}.demo-{run_id}"
                    for name in (
                        "input_topic",
                        "detections_topic",
                        "dlq_topic",
                        "incidents_topic",
                        "changelog_topic",
                        "group_id",
                    )
                    if getattr(k, name) is not None
                }
            )
        }
    )
    with contextlib.ExitStack() as stack:
        bootstrap = k.bootstrap_servers
        if bootstrap is None:
            with console.status("starting the embedded broker"):
                bootstrap = stack.enter_context(EmbeddedBroker()).bootstrap_servers
        topics = settings.kafka
        ensure_member_topics(bootstrap, topics)
        member = stack.enter_context(open_member(settings, bootstrap))
        server = stack.enter_context(
            MetricsServer(member.metrics.registry, settings.metrics_host, settings.metrics_port)
        )
        console.print(f"broker {bootstrap}  metrics {server.url}")
        _join(member, started=time.monotonic(), timeout_s=min(timeout_s, 60.0), console=console)
        replayer = ReplayProcess(bootstrap, topics.input_topic, expected, rate)
        started = time.monotonic()
        try:
            interrupted = _consume(
                member, expected, started + timeout_s, replayer, console, settings
            )
        finally:
            replay_stats = replayer.finish()
        stats = member.metrics.end_to_end
        busy_s = ((member.last_ms or 0) - (member.first_ms or 0)) / 1000
        return DemoResult(
            expected=expected,
            consumed=member.consumed,
            invalid=member.invalid,
            detections=member.detections,
            confusion=member.confusion,
            elapsed_s=time.monotonic() - started,
            throughput=member.consumed / busy_s if busy_s > 0 else 0.0,
            replay_rate=replay_stats.rate,
            p50_ms=stats.percentile(50) * 1000,
            p99_ms=stats.percentile(99) * 1000,
            assets=len(member.detector),
            warmup=member.warmup,
            unfit=member.unfit,
            wake_rate=member.wake_rate,
            gate=gate_of(settings.detector, load_card(shipped_card("simulated"))),
            incidents=member.incidents_opened,
            events_detected=member.events.detected,
            events_total=member.events.detected + member.events.missed,
            metrics_url=server.url,
            interrupted=interrupted,
        )


def _join(member: Member, started: float, timeout_s: float, console: Console) -> None:
    """Poll until the group assigns partitions, so replayed records do not wait for the join."""
    with console.status("joining the consumer group"):
        while not member.source.assignment():
            if time.monotonic() - started > timeout_s:
                raise BrokerError(f"no partitions were assigned within {timeout_s:.0f} s")
            member.step(timeout_ms=100)


def _consume(
    member: Member,
    expected: int,
    deadline: float,
    replayer: ReplayProcess,
    console: Console,
    settings: Settings,
) -> bool:
    """Run the member until every record is consumed or the deadline; True if Ctrl-C stopped it."""
    columns = (
        TextColumn("[bold]consumed"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>7,.0f} rec/s  {task.fields[detections]:,} detections"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("demo", total=expected, rate=0.0, detections=0)
        window: list[tuple[float, int]] = []
        try:
            while member.consumed < expected and time.monotonic() < deadline:
                failure = replayer.failed()
                if failure:
                    raise BrokerError(failure)
                member.step(settings.kafka.poll_timeout_ms, settings.kafka.max_poll_records)
                now = time.monotonic()
                window = [*window[-20:], (now, member.consumed)]
                span = window[-1][0] - window[0][0]
                rate = (window[-1][1] - window[0][1]) / span if span > 0 else 0.0
                progress.update(
                    task, completed=member.consumed, rate=rate, detections=member.detections
                )
        except KeyboardInterrupt:  # the batch in hand was finished or never started
            return True
    return False


def summary_table(result: DemoResult) -> Table:
    c = result.confusion
    table = Table(title="edgewatch demo", show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value", justify="right")
    rows = [
        ("records in", f"{result.consumed:,} of {result.expected:,}"),
        ("invalid (DLQ)", f"{result.invalid:,}"),
        ("assets", f"{result.assets:,}"),
        ("warm-up records (no window yet)", f"{result.warmup:,}"),
        ("unfit records (channels the model lacks)", f"{result.unfit:,}"),
        ("model woken for", f"{result.wake_rate:.1%} of windows ({result.gate} gate)"),
        ("detections", f"{result.detections:,}"),
        ("incidents opened", f"{result.incidents:,}"),
        ("precision / recall / F1", f"{c.precision:.3f} / {c.recall:.3f} / {c.f1:.3f}"),
        ("anomaly events detected", f"{result.events_detected:,} of {result.events_total:,}"),
        ("labelled records", f"{c.labelled:,} (tp {c.tp:,}, fp {c.fp:,}, fn {c.fn:,})"),
        ("throughput", f"{result.throughput:,.0f} records/s"),
        ("replay rate", f"{result.replay_rate:,.0f} records/s"),
        ("end-to-end latency p50 / p99", f"{result.p50_ms:,.1f} ms / {result.p99_ms:,.1f} ms"),
        ("elapsed", f"{result.elapsed_s:,.1f} s"),
        ("metrics", result.metrics_url),
    ]
    for what, value in rows:
        table.add_row(what, value)
    return table
