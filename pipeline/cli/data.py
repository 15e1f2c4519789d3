"""`edgewatch replay` and `edgewatch datasets`: data sets into Kafka, and onto disk."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from edgewatch.errors import ConfigError
from edgewatch.pipeline.cli.common import (
    BootstrapOpt,
    ConfigOpt,
    LogOpt,
    MetricsPortOpt,
    console,
    load_settings,
    stop_on_signals,
)
from edgewatch.pipeline.outputs import JsonLinesSink
from edgewatch.pipeline.settings import Settings
from edgewatch.producers.datasets import DATASETS, default_data_dir, open_dataset
from edgewatch.producers.replay import ReplayStats, StopFlag, loop, select
from edgewatch.producers.replay import replay as replay_records
from edgewatch.records import SensorRecord
from edgewatch.transport import MessageSink

__all__ = ["datasets_app", "replay"]

datasets_app = typer.Typer(help="Download or import the public data sets.", no_args_is_help=True)
Opt = typer.Option


#: Data-set-specific replay options and the data sets they apply to.
_APPLIES_TO: dict[str, tuple[str, ...]] = {
    "split": ("simulated", "fd001"),
    "cycle_ms": ("fd001",),
    "windows": ("metropt", "csv"),
    "timestamp_column": ("csv",),
    "timestamp_unit": ("csv",),
    "columns": ("csv",),
    "asset_column": ("csv",),
    "asset": ("csv",),
    "label_column": ("csv",),
    "delimiter": ("csv",),
    "ignore_columns": ("csv",),
}


def _names(text: str | None) -> tuple[str, ...] | None:
    return tuple(c.strip() for c in text.split(",")) if text else None


def _data_dir(settings: Settings) -> Path:
    return settings.data_dir or default_data_dir()


def replay(
    dataset: Annotated[str, typer.Argument(help=f"One of: {', '.join(DATASETS)}.")],
    path: Annotated[Path | None, Opt(help="File or folder of the data set.")] = None,
    bootstrap_servers: BootstrapOpt = None,
    topic: Annotated[str | None, Opt(help="Target topic (created when missing).")] = None,
    partitions: Annotated[int | None, Opt(help="Partitions of a topic created here.")] = None,
    rate: Annotated[float | None, Opt(help="Pace at this many records/s.")] = None,
    speedup: Annotated[
        float | None, Opt(help="Pace by event time, this many times faster.")
    ] = None,
    limit: Annotated[int | None, Opt(min=1, help="Stop after this many records.")] = None,
    assets: Annotated[str | None, Opt(help="Only these assets: comma-separated globs.")] = None,
    loop_forever: Annotated[bool, Opt("--loop", help="Repeat until stopped.")] = False,
    dry_run: Annotated[bool, Opt(help="JSON lines to stdout; no broker.")] = False,
    split: Annotated[
        Literal["train", "val", "test"] | None,
        Opt(
            help="simulated: train/val/test by time (default all); fd001: train (default) or test."
        ),
    ] = None,
    cycle_ms: Annotated[
        int | None, Opt(min=1, help="fd001: event time per cycle in ms (default 1000).")
    ] = None,
    windows: Annotated[Path | None, Opt(help="metropt/csv: [start, end] label windows.")] = None,
    timestamp_column: Annotated[str | None, Opt(help="csv: timestamp column.")] = None,
    timestamp_unit: Annotated[
        Literal["iso", "s", "ms"] | None, Opt(help="csv: iso, s or ms (default: detect).")
    ] = None,
    columns: Annotated[str | None, Opt(help="csv: value columns, comma-separated.")] = None,
    asset_column: Annotated[str | None, Opt(help="csv: column naming the asset.")] = None,
    asset: Annotated[str | None, Opt(help="csv: one asset id for every row.")] = None,
    label_column: Annotated[str | None, Opt(help="csv: 0/1 label column.")] = None,
    delimiter: Annotated[str | None, Opt(help="csv: delimiter (default: detect).")] = None,
    ignore_columns: Annotated[
        str | None, Opt(help="csv: columns that are never channels, comma-separated.")
    ] = None,
    metrics_port: MetricsPortOpt = None,
    config: ConfigOpt = None,
    log_level: LogOpt = None,
) -> None:
    """Replay a data set into Kafka, keyed by asset, in event-time order."""
    kafka = {"input_topic": topic, "partitions": partitions}
    settings = load_settings(config, bootstrap_servers, kafka=kafka, log_level=log_level)
    if dataset not in DATASETS:
        raise ConfigError.invalid("DATASET", f"must be one of: {', '.join(DATASETS)}", dataset)
    given = {
        "split": split,
        "cycle_ms": cycle_ms,
        "windows": windows,
        "timestamp_column": timestamp_column,
        "timestamp_unit": timestamp_unit,
        "columns": _names(columns),
        "asset_column": asset_column,
        "asset": asset,
        "label_column": label_column,
        "delimiter": delimiter,
        "ignore_columns": _names(ignore_columns),
    }
    options = {name: value for name, value in given.items() if value is not None}
    for name in options:
        if dataset not in _APPLIES_TO[name]:
            flag = "--" + name.replace("_", "-")
            raise ConfigError(
                f"{flag} applies to {' and '.join(_APPLIES_TO[name])} only, not {dataset}"
            )
    source = open_dataset(dataset, path, _data_dir(settings), **options)
    patterns = [p.strip() for p in assets.split(",")] if assets else []
    records = select(loop(source.records) if loop_forever else source.records(), patterns, limit)
    stop = stop_on_signals()
    total = None if loop_forever or patterns else source.total()
    if total is not None and limit is not None:
        total = min(total, limit)
    k = settings.kafka
    if dry_run:
        sink: MessageSink = JsonLinesSink(sys.stdout.buffer)
        target = "stdout"
    else:
        from edgewatch.pipeline.kafka.kafka_python import KafkaSink, ensure_topics

        if k.bootstrap_servers is None:
            raise ConfigError(
                "replay needs a broker: pass --bootstrap-servers HOST:PORT (or set "
                "EDGEWATCH_KAFKA__BOOTSTRAP_SERVERS), or use --dry-run"
            )
        ensure_topics(k.bootstrap_servers, {k.input_topic: k.partitions})
        sink = KafkaSink(k.bootstrap_servers, client_id="edgewatch-replay")
        target = repr(k.input_topic)
    with ExitStack() as stack:
        stack.callback(sink.close)
        on_progress = None
        if metrics_port is not None:
            from edgewatch.pipeline.metrics.registry import MetricsServer, ReplayMetrics

            metrics = ReplayMetrics(dataset)
            server = MetricsServer(metrics.registry, settings.metrics_host, metrics_port)
            console.print(f"metrics: {stack.enter_context(server).url}")
            metrics.running.set(1)
            stack.callback(metrics.running.set, 0)
            on_progress = metrics.progress
        stats = _with_progress(
            records, sink, k.input_topic, total, rate, speedup, stop, on_progress
        )
        if on_progress is not None:
            on_progress(stats.sent)
    verb = "interrupted after sending" if stats.stopped else "sent"
    console.print(
        f"{verb} {stats.sent:,} records to {target} in {stats.elapsed_s:,.1f} s "
        f"({stats.rate:,.0f} records/s); all flushed"
    )
    if stats.stopped:
        raise typer.Exit(130)


def _with_progress(
    records: Iterable[SensorRecord],
    sink: MessageSink,
    topic: str,
    total: int | None,
    rate: float | None,
    speedup: float | None,
    stop: StopFlag,
    on_progress: Callable[[int], None] | None = None,
) -> ReplayStats:
    columns = (
        TextColumn("[bold]replay"),
        BarColumn(),
        MofNCompleteColumn() if total else TextColumn("{task.completed:,} records"),
        TextColumn("{task.fields[rate]:>8,.0f} rec/s"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("replay", total=total, rate=0.0)
        started = progress.get_time()

        def update(sent: int) -> None:
            elapsed = progress.get_time() - started
            progress.update(task, completed=sent, rate=sent / elapsed if elapsed > 0 else 0.0)
            if on_progress is not None:
                on_progress(sent)

        return replay_records(
            records, sink, topic, rate=rate, speedup=speedup, stop=stop, on_progress=update
        )


@datasets_app.command("fetch")
def fetch_command(
    dataset: Annotated[Literal["fd001", "metropt"], typer.Argument(help="fd001 or metropt.")],
    from_path: Annotated[
        Path | None, Opt("--from", help="Import a local copy (zip, folder or file).")
    ] = None,
    url: Annotated[str | None, Opt(help="Download from this address instead.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Download a data set from its official source (or import a copy) and verify checksums."""
    from edgewatch.producers.fetch import SOURCES, fetch

    settings = load_settings(config, None)
    source = SOURCES[dataset]
    where = from_path or url or source.url
    with console.status(f"{dataset}: fetching from {where}") as status:
        received = 0

        def on_bytes(n: int) -> None:
            nonlocal received
            received += n
            status.update(f"{dataset}: {received / 1e6:,.1f} MB from {where}")

        folder = fetch(dataset, _data_dir(settings), from_path, url, on_bytes=on_bytes)
    console.print(f"{dataset}: verified and installed in {folder} (licence: {source.licence})")


@datasets_app.command("synth")
def synth_command(
    out: Annotated[Path, Opt(help="Folder to write the CSV files to.")] = Path("synthetic"),
    files: Annotated[int, Opt(min=1, max=1_000, help="How many series.")] = 20,
    seed: Annotated[int, Opt(help="Seed: the same seed writes the same files.")] = 7,
) -> None:
    """Write labelled synthetic series (assorted units, shapes and anomaly kinds) as CSV files,
    for `evaluate --dataset csv --path FOLDER --label-column label` on data no model has seen."""
    from edgewatch.producers.synthetic import synthetic_corpus

    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for series in synthetic_corpus(files, seed):
        series.frame.to_csv(out / f"{series.name}.csv", index=False)
        written += len(series.frame)
    console.print(f"wrote {files} series ({written:,} rows) to {out}")
