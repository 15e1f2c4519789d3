"""The `edgewatch` command line: broker, demo, run, replay, datasets."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console

from edgewatch import __version__
from edgewatch.errors import ConfigError, EdgewatchError
from pipeline.cli_common import (
    BootstrapOpt,
    ConfigOpt,
    LogOpt,
    MetricsPortOpt,
    console,
    load_settings,
    stop_on_signals,
)
from pipeline.cli_data import datasets_app, replay
from pipeline.cli_models import models_app, train_command

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


@app.command()
def broker(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 = a free one).")] = 0,
) -> None:
    """Run the embedded Kafka-API broker (tansu, in memory) until Ctrl-C."""
    from pipeline.broker import EmbeddedBroker

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
    from pipeline.demo import run_demo, summary_table

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
    emit: Annotated[str | None, typer.Option(help="'anomalies' (default) or 'all'.")] = None,
    metrics_port: MetricsPortOpt = None,
    config: ConfigOpt = None,
    log_level: LogOpt = None,
) -> None:
    """Run one consumer-group member until SIGTERM or Ctrl-C."""
    from pipeline.app import open_member
    from pipeline.kafka import ensure_topics
    from pipeline.metrics import MetricsServer

    kafka = {
        "input_topic": input_topic,
        "detections_topic": detections_topic,
        "dlq_topic": dlq_topic,
        "group_id": group_id,
    }
    settings = load_settings(
        config,
        bootstrap_servers,
        kafka=kafka,
        emit=emit,
        metrics_port=metrics_port,
        log_level=log_level,
    )
    k = settings.kafka
    if k.bootstrap_servers is None:
        raise ConfigError(
            "run needs a broker: pass --bootstrap-servers HOST:PORT (or set "
            "EDGEWATCH_KAFKA__BOOTSTRAP_SERVERS); `edgewatch broker` starts a local one"
        )
    stop = stop_on_signals()
    ensure_topics(
        k.bootstrap_servers,
        {k.input_topic: k.partitions, k.detections_topic: k.partitions, k.dlq_topic: 1},
    )
    with (
        open_member(settings, k.bootstrap_servers) as member,
        MetricsServer(member.metrics.registry, settings.metrics_host, settings.metrics_port) as srv,
    ):
        console.print(f"member of group {k.group_id!r} on {k.input_topic!r}; metrics: {srv.url}")
        member.run(stop, k.poll_timeout_ms, k.max_poll_records)
    console.print(f"stopped: {member.consumed:,} records, {member.detections:,} detections")


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version.")] = False,
) -> None:
    if version:
        typer.echo(f"edgewatch {__version__}")
        raise typer.Exit()


def main() -> None:
    """Console entry point: errors print as one clear line, not a traceback."""
    try:
        app()
    except ConfigError as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except EdgewatchError as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
