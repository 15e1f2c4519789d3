"""What every `edgewatch` command shares: the settings entry point, signals, common options."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from rich.console import Console

from edgewatch.pipeline.settings import Settings

__all__ = [
    "BootstrapOpt",
    "ClientOpt",
    "ConfigOpt",
    "LogOpt",
    "MetricsPortOpt",
    "configure_logging",
    "console",
    "load_settings",
    "stop_on_signals",
]

console = Console(stderr=True)
log = logging.getLogger("edgewatch")

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="YAML settings file (flags and env win).")
]
BootstrapOpt = Annotated[
    str | None,
    typer.Option(
        "--bootstrap-servers", "-b", help="Kafka host:port[,...]; unset = embedded broker."
    ),
]
ClientOpt = Annotated[
    str | None,
    typer.Option(
        "--client", help="Kafka client: confluent (librdkafka, the default) or kafka-python."
    ),
]
MetricsPortOpt = Annotated[
    int | None, typer.Option("--metrics-port", help="Port for /metrics on 127.0.0.1 (0 = free).")
]
LogOpt = Annotated[str | None, typer.Option("--log-level", help="DEBUG, INFO, WARNING or ERROR.")]


def load_settings(config: Path | None, bootstrap: str | None, **overrides: Any) -> Settings:
    """Build the process's settings from flags, env and file; configure logging once."""
    kafka = {"bootstrap_servers": bootstrap, **overrides.pop("kafka", {})}
    settings = Settings.load(config, kafka=kafka, **overrides)
    configure_logging(settings)
    return settings


def configure_logging(settings: Settings) -> None:
    """The process's logging, once: to standard error, at ``settings.log_level``."""
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    if settings.log_level != "DEBUG":  # kafka-python is chatty about transient reconnects
        logging.getLogger("kafka").setLevel(logging.ERROR)


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT: loops finish what is in hand, flush and exit."""
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        log.info("signal=%s stopping after the work in hand", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop
