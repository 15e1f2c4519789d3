"""The `edgewatch` command line: broker, demo, run, replay, datasets."""

from __future__ import annotations

import os
import sys
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress, TaskID
from typer import rich_utils

from edgewatch import __version__
from edgewatch.errors import ConfigError, EdgewatchError
from edgewatch.pipeline.cli.common import (
    BootstrapOpt,
    ClientOpt,
    ConfigOpt,
    LogOpt,
    MetricsPortOpt,
    console,
    load_settings,
    stop_on_signals,
)
from edgewatch.pipeline.cli.data import datasets_app, replay
from edgewatch.pipeline.cli.models import models_app, train_command
from edgewatch.pipeline.report.page import report_command
from edgewatch.pipeline.settings import Settings

__all__ = ["app", "main"]

app = typer.Typer(
    help="Streaming anomaly detection for industrial sensor streams.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command()(replay)
app.add_typer(datasets_app, name="datasets")
app.command("train")(train_command)
app.add_typer(models_app, name="models")
app.command("report")(report_command)


@app.command()
def broker(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 = a free one).")] = 0,
) -> None:
    """Run the embedded Kafka-API broker (tansu, in memory) until Ctrl-C."""
    from edgewatch.pipeline.kafka.broker import EmbeddedBroker

    stop = stop_on_signals()
    with EmbeddedBroker(port=port) as embedded:
        typer.echo(f"bootstrap servers: {embedded.bootstrap_servers}")
        console.print("in memory: topics vanish when it stops. Ctrl-C to stop.")
        while not stop.wait(0.5):
            if not embedded.alive:
                raise EdgewatchError("the broker exited unexpectedly")


@app.command()
def demo(
    records: Annotated[
        int, typer.Option(min=1, help="Records to replay (the fleet has 5 assets).")
    ] = 250_000,
    rate: Annotated[
        float, typer.Option(help="Replay rate in records/s; 0 = as fast as possible.")
    ] = 4_000.0,
    timeout: Annotated[float, typer.Option(help="Give up after this many seconds.")] = 170.0,
    bootstrap_servers: BootstrapOpt = None,
    metrics_port: Annotated[
        int, typer.Option("--metrics-port", help="Port for /metrics (0 = free).")
    ] = 0,
    config: ConfigOpt = None,
    log_level: LogOpt = None,
) -> None:
    """Replay the simulated fleet through Kafka into a member and summarise what it found."""
    from edgewatch.pipeline.jobs.demo import run_demo, summary_table

    if rate < 0:
        raise ConfigError.invalid("--rate", "must be >= 0 (0 = as fast as possible)", rate)
    settings = load_settings(
        config, bootstrap_servers, metrics_port=metrics_port, log_level=log_level
    )
    result = run_demo(
        settings, records=records, rate=rate or None, timeout_s=timeout, console=console
    )
    Console().print(summary_table(result))
    if result.interrupted:
        raise typer.Exit(130)
    if not result.complete:
        raise EdgewatchError(
            f"only {result.consumed:,} of {result.expected:,} records were consumed within "
            f"{timeout:.0f} s; try --records {max(result.consumed, 1):,} or a larger --timeout"
        )


@app.command()
def run(
    bootstrap_servers: BootstrapOpt = None,
    input_topic: Annotated[str | None, typer.Option(help="Topic of SensorRecords.")] = None,
    detections_topic: Annotated[str | None, typer.Option(help="Topic for detections.")] = None,
    dlq_topic: Annotated[str | None, typer.Option(help="Dead-letter topic.")] = None,
    group_id: Annotated[str | None, typer.Option(help="Consumer group.")] = None,
    client: ClientOpt = None,
    incidents_topic: Annotated[str | None, typer.Option(help="Topic for incident events.")] = None,
    changelog_topic: Annotated[
        str | None,
        typer.Option(help="Compacted topic of per-asset state: moved assets resume, no warm-up."),
    ] = None,
    commit_interval_ms: Annotated[
        int | None,
        typer.Option(help="Commit offsets and snapshots at most this often (0: every batch)."),
    ] = None,
    emit: Annotated[str | None, typer.Option(help="'anomalies' (default) or 'all'.")] = None,
    model: Annotated[
        Path | None,
        typer.Option(
            help="Model card (.json), a shipped model (simulated, fd001) or 'online' (no model: "
            "the unsupervised detector). Default: each shipped model for its own data set's "
            "streams, the online detector for every other stream."
        ),
    ] = None,
    alarm_rate: Annotated[
        float | None,
        typer.Option(help="Online detector: target false-alarm rate per record (default 0.002)."),
    ] = None,
    prefilter: Annotated[
        str | None, typer.Option(help="Prefilter: ewzscore (default), hst or gaussian.")
    ] = None,
    gate: Annotated[
        str | None,
        typer.Option(
            help="What wakes the model: off, prefilter (needs --wake-rate) or sentinel (a small "
            "model, where it is unsure). Default: the sentinel where the model has one (the "
            "shipped models), prefilter with --wake-rate, else off."
        ),
    ] = None,
    sentinel: Annotated[
        Path | None, typer.Option(help="Sentinel card (default: the shipped model's own).")
    ] = None,
    wake_rate: Annotated[
        float | None, typer.Option(help="Prefilter gate: share of windows that wake the model.")
    ] = None,
    audit_every: Annotated[
        int | None, typer.Option(help="Also wake every N-th window the gate skips.")
    ] = None,
    until_idle: Annotated[
        float | None,
        typer.Option(
            min=0.1,
            help="Stop (exit 0, all committed) once the member's partitions have brought no "
            "record for this many seconds.",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Also append detections and incident events to this JSON-lines file."),
    ] = None,
    members: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Members to run in this consumer group, a process each under one supervisor "
            "(a dead one is restarted); member i serves metrics on --metrics-port + i. Default: "
            "one per core, at most one per input partition.",
        ),
    ] = None,
    metrics_port: MetricsPortOpt = None,
    config: ConfigOpt = None,
    log_level: LogOpt = None,
) -> None:
    """Run consumer-group members until SIGTERM or Ctrl-C, or until the input is idle
    (--until-idle); the batch in hand is finished and everything processed is committed first."""
    from edgewatch.pipeline.app import ensure_member_topics
    from edgewatch.pipeline.supervisor import Supervisor, member_count, serve_member

    kafka = {
        "input_topic": input_topic,
        "detections_topic": detections_topic,
        "dlq_topic": dlq_topic,
        "incidents_topic": incidents_topic,
        "changelog_topic": changelog_topic,
        "commit_interval_ms": commit_interval_ms,
        "group_id": group_id,
        "client": client,
    }
    detector = {
        "model": model,
        "alarm_rate": alarm_rate,
        "prefilter": prefilter,
        "gate": gate,
        "sentinel": sentinel,
        "wake_rate": wake_rate,
        "audit_every": audit_every,
    }
    settings = load_settings(
        config,
        bootstrap_servers,
        kafka=kafka,
        detector=detector,
        emit=emit,
        out=out,
        metrics_port=metrics_port,
        log_level=log_level,
    )
    if prefilter is not None and settings.detector.wake_rate is None:
        raise ConfigError(
            "--prefilter chooses the statistical prefilter of the prefilter gate, which needs "
            "--wake-rate: add --wake-rate R (e.g. 0.3), or drop --prefilter"
        )
    k = settings.kafka
    if k.bootstrap_servers is None:
        raise ConfigError(
            "run needs a broker: pass --bootstrap-servers HOST:PORT (or set "
            "EDGEWATCH_KAFKA__BOOTSTRAP_SERVERS); `edgewatch broker` starts a local one"
        )
    stop = stop_on_signals()
    n = member_count(members, ensure_member_topics(k.bootstrap_servers, k))
    if n == 1:
        serve_member(settings, stop, until_idle)
        return
    console.print(f"{n} members of group {k.group_id!r} on {k.input_topic!r}")
    supervisor = Supervisor(settings, n, until_idle)
    supervisor.run(stop)
    console.print(f"all {n} members stopped; restarts: {supervisor.restarts}")


@app.command()
def evaluate(
    dataset: Annotated[str, typer.Option(help="simulated, fd001, csv or metropt.")] = "simulated",
    model: Annotated[
        Path | None,
        typer.Option(
            help="Model card or 'online'. simulated/fd001: default the shipped model, with a "
            "gate sweep; csv/metropt: default as `run` chooses (the online detector)."
        ),
    ] = None,
    path: Annotated[
        Path | None, typer.Option(help="fd001: folder of the C-MAPSS files; csv: file or folder.")
    ] = None,
    label_column: Annotated[str | None, typer.Option(help="csv: the 0/1 label column.")] = None,
    windows: Annotated[
        Path | None, typer.Option(help="csv/metropt: [start, end] label windows (JSON or CSV).")
    ] = None,
    asset_column: Annotated[str | None, typer.Option(help="csv: column naming the asset.")] = None,
    timestamp_column: Annotated[str | None, typer.Option(help="csv: timestamp column.")] = None,
    ignore_columns: Annotated[
        str | None, typer.Option(help="csv: columns that are never channels, comma-separated.")
    ] = None,
    alarm_rate: Annotated[
        float | None, typer.Option(help="Online detector: target false-alarm rate per record.")
    ] = None,
    wake_rate: Annotated[
        list[float] | None,
        typer.Option(help="Gate target wake rate; repeat to sweep. Default: off, 0.3, 0.5."),
    ] = None,
    prefilter: Annotated[str | None, typer.Option(help="ewzscore, hst or gaussian.")] = None,
    out: Annotated[Path, typer.Option(help="Results folder; a sub-folder per data set.")] = Path(
        "results"
    ),
    config: ConfigOpt = None,
    log_level: LogOpt = None,
) -> None:
    """Stream a labelled data set through the detector (no broker) and score it: point-wise
    P/R/F1, events detected, delay and an early-detection score; for the shipped models' test
    splits also per gate setting."""
    import orjson

    if dataset not in ("simulated", "fd001", "csv", "metropt"):
        raise ConfigError.invalid("--dataset", "must be simulated, fd001, csv or metropt", dataset)
    detector = {"prefilter": prefilter, "alarm_rate": alarm_rate, "model": model}
    settings = load_settings(config, None, detector=detector, log_level=log_level)
    csv_only = {
        "--label-column": label_column,
        "--asset-column": asset_column,
        "--timestamp-column": timestamp_column,
        "--ignore-columns": ignore_columns,
    }
    for flag, value in csv_only.items():
        if value is not None and dataset != "csv":
            raise ConfigError(f"{flag} applies to --dataset csv only, not {dataset}")
    if dataset in ("csv", "metropt") or (model is not None and str(model) == "online"):
        options: dict[str, Any] = {"split": "test"}  # simulated, fd001
        if dataset != "csv":
            options = {"windows": windows} if dataset == "metropt" else options
        else:
            ignored = tuple(c.strip() for c in (ignore_columns or "").split(",") if c.strip())
            options = {
                "label_column": label_column,
                "windows": windows,
                "asset_column": asset_column,
                "timestamp_column": timestamp_column,
                "ignore_columns": ignored,
            }
        name, row, text = _evaluate_any(settings, dataset, path, options)
    else:
        name, row, text = _evaluate_gates(settings, dataset, model, path, wake_rate)
    folder_out = out / name
    folder_out.mkdir(parents=True, exist_ok=True)
    (folder_out / "evaluate.json").write_bytes(orjson.dumps(row, option=orjson.OPT_INDENT_2))
    (folder_out / "evaluate.md").write_text(text)
    typer.echo(text)


def _evaluate_gates(
    settings: Settings,
    dataset: str,
    model: Path | None,
    path: Path | None,
    wake_rate: list[float] | None,
) -> tuple[str, Any, str]:
    """A shipped data set's test split through a model cascade, one row per gate setting."""
    from edgewatch.models.artifacts import load_model, shipped_card
    from edgewatch.pipeline.app import gate_of
    from edgewatch.pipeline.jobs.evaluate import (
        evaluate_stream,
        gate_label,
        markdown,
        test_records,
    )
    from edgewatch.producers.datasets import default_data_dir

    folder = path or (settings.data_dir or default_data_dir()) / "cmapss"
    artifact = load_model(model or shipped_card(dataset))
    records = test_records(dataset, folder)
    rows = []
    base = settings.detector.model_copy(update={"gate": "off", "wake_rate": None})
    gates = [base] + [
        base.model_copy(update={"gate": "prefilter", "wake_rate": target})
        for target in (wake_rate or [0.3, 0.5])
    ]
    if gate_of(base.model_copy(update={"gate": None}), artifact.card) == "sentinel":
        gates.append(base.model_copy(update={"gate": "sentinel"}))  # the model has one
    with Progress(console=console) as progress:
        for cfg in gates:
            task = progress.add_task(gate_label(cfg), total=len(records))
            show = partial(_show, progress, task)
            result = evaluate_stream(records, artifact, cfg, on_progress=show)
            rows.append(result.as_dict())
    return dataset, rows, markdown(dataset, artifact.card, settings.detector, rows)


def _show(progress: Progress, task: TaskID, completed: int) -> None:
    progress.update(task, completed=completed)


def _evaluate_any(
    settings: Settings, dataset: str, path: Path | None, options: dict[str, Any]
) -> tuple[str, Any, str]:
    """Any labelled stream through the member's detector and incident tracker."""
    from edgewatch.operators.baseline import BASELINE, BaselineDetector
    from edgewatch.pipeline.jobs.anystream import evaluate_any, markdown
    from edgewatch.producers.datasets import default_data_dir, open_dataset

    source = open_dataset(dataset, path, settings.data_dir or default_data_dir(), **options)
    title = f"{dataset} {path.name if path is not None else ''}".strip()
    cfg = settings.detector
    with Progress(console=console) as progress:
        rows = []
        for label, detector in ((title, None), (BASELINE, BaselineDetector(cfg.alarm_rate))):
            task = progress.add_task(label, total=source.total())
            result = evaluate_any(
                source.records(),
                cfg,
                settings.incidents,
                on_progress=partial(_show, progress, task),
                detector=detector,
            )
            rows.append(result.as_dict())
    row = {**rows[0], "baseline": rows[1]}
    name = f"csv-{path.stem}" if dataset == "csv" and path is not None else f"{dataset}-any"
    return name, row, markdown(title, settings.detector, row)


@app.command()
def bench(
    records: Annotated[int, typer.Option(min=1_000, help="Records per measurement.")] = 100_000,
    latency_seconds: Annotated[
        float, typer.Option(min=1.0, help="Length of the latency run at 50% load.")
    ] = 20.0,
    latency_fetch_wait_ms: Annotated[
        int,
        typer.Option(
            min=0,
            help="Fetch long-poll cap in the latency runs; brokers that do not answer a waiting "
            "fetch when data arrives (the embedded one) add up to this much to every poll.",
        ),
    ] = 10,
    out: Annotated[Path, typer.Option(help="Where to write the report.")] = Path("BENCHMARKS.md"),
    quix: Annotated[
        Path | None,
        typer.Option(
            help="Python of a virtualenv with quixstreams (`make bench` makes .venv-peers): "
            "also run the Quix Streams peer, interleaved with the member (needs Apache Kafka)."
        ),
    ] = None,
    broker_name: Annotated[
        str | None, typer.Option(help="What the report calls the -b broker, e.g. 'Apache Kafka'.")
    ] = None,
    bootstrap_servers: BootstrapOpt = None,
    config: ConfigOpt = None,
    log_level: LogOpt = None,
) -> None:
    """Measure the ceiling, the pipeline, a hand-written loop, latency, model, state and member
    scaling; write BENCHMARKS.md (needs the train extra for the hand-written loop's torch
    model)."""
    from contextlib import ExitStack

    from edgewatch.pipeline.bench.run import markdown, run_bench
    from edgewatch.pipeline.kafka.broker import EmbeddedBroker

    settings = load_settings(config, bootstrap_servers, log_level=log_level)
    with ExitStack() as stack, console.status("bench") as status:
        bootstrap = settings.kafka.bootstrap_servers
        if bootstrap is None:
            bootstrap = stack.enter_context(EmbeddedBroker()).bootstrap_servers

        def say(text: str) -> None:
            status.update(text)
            console.print(text)

        report = run_bench(
            settings, bootstrap, records, latency_seconds, say, latency_fetch_wait_ms, quix
        )
    if settings.kafka.bootstrap_servers is not None:
        report.broker = f"{broker_name or 'the broker'} at {bootstrap}"
    text = markdown(report)
    out.write_text(text)
    typer.echo(text)
    console.print(f"wrote {out}")


@app.command("webhook-receiver")
def webhook_receiver(
    port: Annotated[int, typer.Option(help="Port (0 = a free one).")] = 9109,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    out: Annotated[
        Path,
        typer.Option(
            help="Append each new event to this JSON-lines file; the ids in it are remembered "
            "as duplicates across restarts."
        ),
    ] = Path("edgewatch-alerts.jsonl"),
    tolerance_s: Annotated[
        float, typer.Option(min=1.0, help="Reject signatures older than this.")
    ] = 300.0,
    config: ConfigOpt = None,
    log_level: LogOpt = None,
) -> None:
    """Receive signed alert webhooks: verify, drop duplicates, print and store (demos, tests).

    The secret is the pipeline's: EDGEWATCH_WEBHOOKS__SECRET or webhooks.secret in --config."""
    from edgewatch.pipeline.alerts.receiver import Receiver

    settings = load_settings(config, None, log_level=log_level)
    secret = settings.webhooks.secret.get_secret_value()
    if not secret:
        raise ConfigError(
            "webhook-receiver needs the shared secret: set EDGEWATCH_WEBHOOKS__SECRET "
            "(or webhooks.secret in --config)"
        )

    def show(event: dict[str, object]) -> None:
        console.print_json(data=event)

    stop = stop_on_signals()
    receiver = Receiver(secret.encode(), host, port, out, int(tolerance_s * 1000), show)
    with receiver:
        typer.echo(f"listening on {receiver.url}")
        stop.wait()
    console.print(f"stopped: {len(receiver.events):,} events, {receiver.rejected:,} rejected")


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version.")] = False,
) -> None:
    if version:
        typer.echo(f"edgewatch {__version__}")
        raise typer.Exit()


HELP_WIDTH = 120  # --help when the width is unknown (not a terminal, no COLUMNS): not rich's 80


def _help_width() -> None:
    """Give --help a readable width where rich would fall back to 80 columns."""
    if "COLUMNS" not in os.environ and not sys.stdout.isatty() and not rich_utils.MAX_WIDTH:
        rich_utils.MAX_WIDTH = HELP_WIDTH


def main() -> None:
    """Console entry point: errors print as one clear line, not a traceback."""
    _help_width()
    try:
        app()
    except ConfigError as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except EdgewatchError as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
