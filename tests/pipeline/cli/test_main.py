from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from edgewatch.records import decode_record

EDGEWATCH = str(Path(sys.executable).with_name("edgewatch"))


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EDGEWATCH, *args], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    "command",
    [
        "broker",
        "demo",
        "run",
        "replay",
        "train",
        "models compare",
        "models cascade",
        "datasets fetch",
    ],
)
def test_help(command: str) -> None:
    result = _run(*command.split(), "--help")
    assert result.returncode == 0
    assert "Usage" in result.stdout


def test_help_is_not_squeezed_into_80_columns_when_piped() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "TERMINAL_WIDTH")}
    result = subprocess.run(
        [EDGEWATCH, "run", "--help"], capture_output=True, text=True, timeout=60, env=env
    )
    assert max(len(line) for line in result.stdout.splitlines()) > 100
    assert any(
        "Kafka host:port[,...]; unset = embedded broker." in line
        for line in result.stdout.splitlines()
    )


def test_version() -> None:
    assert _run("--version").stdout.startswith("edgewatch ")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["run"], "--bootstrap-servers"),
        (["train", "--dataset", "nasa"], "nasa"),
        (["replay", "nasa"], "DATASET must be one of: simulated, fd001, metropt, csv; got 'nasa'"),
        (
            ["replay", "simulated", "--rate", "5", "--speedup", "2", "--dry-run"],
            "choose one pacing",
        ),
        (["replay", "csv", "--dry-run"], "--path"),
        (
            ["replay", "fd001", "--asset-column", "x", "--dry-run"],
            "--asset-column applies to csv only, not fd001",
        ),
        (
            ["replay", "simulated", "--windows", "w.json", "--dry-run"],
            "--windows applies to metropt and csv only",
        ),
        (["demo", "--rate", "-1"], "--rate"),
        (["run", "-b", "x:1", "--emit", "some"], "emit"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(args: list[str], needle: str) -> None:
    result = _run(*args)
    assert result.returncode == 2
    assert needle in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr


def test_replay_dry_run_writes_valid_records() -> None:
    result = _run("replay", "simulated", "--dry-run", "--limit", "7")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 7
    assert [decode_record(line).asset for line in lines[:5]] == [f"sim-{i:03d}" for i in range(5)]


def test_prefilter_without_wake_rate_is_an_error_that_says_why() -> None:
    result = _run("run", "-b", "127.0.0.1:1", "--prefilter", "hst")
    assert result.returncode == 2
    assert "--wake-rate" in result.stderr
    assert "Traceback" not in result.stderr
