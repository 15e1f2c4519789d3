"""docker-compose.yml: valid, and every edgewatch service runs a command the CLI accepts."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
EDGEWATCH = str(Path(sys.executable).with_name("edgewatch"))
PROFILES = ("--profile", "simulated", "--profile", "fd001", "--profile", "metropt")


def _services() -> dict[str, dict[str, object]]:
    return dict(yaml.safe_load(COMPOSE.read_text())["services"])


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not installed")
def test_compose_file_validates() -> None:
    result = _config({"EDGEWATCH_WEBHOOK_SECRET": "a-secret-of-16-chars-or-more"})
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not installed")
def test_compose_refuses_to_start_without_a_webhook_secret() -> None:
    result = _config({})
    assert result.returncode != 0
    assert "EDGEWATCH_WEBHOOK_SECRET" in result.stderr
    assert ".env" in result.stderr


def _config(extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "EDGEWATCH_WEBHOOK_SECRET"}
    return subprocess.run(
        [
            "docker-compose",
            "-f",
            str(COMPOSE),
            "--project-directory",
            str(COMPOSE.parent),
            *PROFILES,
            "config",
            "-q",
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**env, **extra},
    )


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


def test_every_mounted_file_exists() -> None:
    for name, service in _services().items():
        for volume in service.get("volumes", []):  # type: ignore[attr-defined]
            source = str(volume).split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"


def test_host_ports_do_not_clash() -> None:
    published = [
        str(port).rsplit(":", 1)[0]
        for service in _services().values()
        for port in service.get("ports", [])  # type: ignore[attr-defined]
    ]
    assert len(published) == len(set(published)), published


def test_prometheus_scrapes_what_the_services_expose() -> None:
    config = yaml.safe_load((ROOT / "prometheus" / "prometheus.yml").read_text())
    services = _services()
    for job in config["scrape_configs"]:
        for sd in job.get("dns_sd_configs", []):
            for name in sd["names"]:
                assert str(sd["port"]) in services[name]["expose"], f"{name}:{sd['port']}"  # type: ignore[operator]


def test_dependencies_wait_for_health_or_completion() -> None:
    services = _services()
    for name, service in services.items():
        for dependency, condition in dict(service.get("depends_on", {})).items():  # type: ignore[call-overload]
            wanted = condition["condition"]
            if wanted == "service_healthy":
                assert "healthcheck" in services[dependency], f"{name} waits on {dependency}"
            else:
                assert wanted == "service_completed_successfully"
                assert services[dependency]["restart"] == "no"
