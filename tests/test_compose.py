"""docker-compose.yml: valid, and every edgewatch service runs a command the CLI accepts."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
EDGEWATCH = str(Path(sys.executable).with_name("edgewatch"))


def _services() -> dict[str, dict[str, object]]:
    return dict(yaml.safe_load(COMPOSE.read_text())["services"])


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not installed")
def test_compose_file_validates() -> None:
    result = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "--profile", "simulated", "config", "-q"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "name", [n for n, s in _services().items() if s.get("image") == "edgewatch:latest"]
)
def test_service_command_is_a_valid_invocation(name: str) -> None:
    command = _services()[name]["command"]
    assert isinstance(command, list)
    result = subprocess.run(
        [EDGEWATCH, *command, "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr


def test_build_context_has_what_the_dockerfile_copies() -> None:
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY ") and "--from" not in line:
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"
