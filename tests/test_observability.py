"""The dashboards and rules against real data: a real Prometheus scrapes a member fed by replay,
then every panel, variable and rule expression is run through its HTTP API and must return data.
`promtool check metrics` lints a live scrape of both commands."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from edgewatch.pipeline.alerts.receiver import Receiver
from edgewatch.pipeline.kafka.broker import EmbeddedBroker

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        shutil.which("prometheus") is None or shutil.which("promtool") is None,
        reason="Prometheus not installed (Debian: apt-get install -y prometheus)",
    ),
]
ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "prometheus" / "rules" / "edgewatch.yml"
DASHBOARDS = sorted((ROOT / "grafana" / "dashboards").glob("*.json"))
EDGEWATCH = str(Path(sys.executable).with_name("edgewatch"))
SECRET = "observability-test-secret"
#: Grafana's built-in variables, at values that suit a 1 s scrape interval.
BUILTINS = {"$__rate_interval": "15s", "$__range": "1m"}
#: Series that are legitimately NaN (0/0) or absent in a short run, with the reason.
MAY_BE_NAN = {
    "audits the model flagged": "the gate is off by default, so there are no audit samples",
}


@dataclass
class Stack:
    prometheus: str
    member_metrics: str
    replay_metrics: str


def _wait_http(url: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer within {timeout_s} s")
        time.sleep(0.2)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def stack(
    broker: EmbeddedBroker,
    tmp_path_factory: pytest.TempPathFactory,
    free_port: Callable[[], int],
) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("observability")
    run = uuid.uuid4().hex[:8]
    topic = f"obs-{run}"
    ports = {name: free_port() for name in ("member", "replay", "prometheus")}
    env = {
        **os.environ,
        "EDGEWATCH_KAFKA__BOOTSTRAP_SERVERS": broker.bootstrap_servers,
        "EDGEWATCH_KAFKA__INPUT_TOPIC": topic,
        "EDGEWATCH_WEBHOOKS__SECRET": SECRET,
        "EDGEWATCH_WEBHOOKS__OUTBOX": str(tmp / "outbox.sqlite"),
        "EDGEWATCH_INCIDENTS__QUIET_MS": "5000",
    }
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": [f"127.0.0.1:{ports[name]}"]}]}
            for job, name in (("edgewatch", "member"), ("edgewatch-replay", "replay"))
        ],
    }
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
    with Receiver(SECRET.encode()) as receiver:
        env["EDGEWATCH_WEBHOOKS__URLS"] = json.dumps([receiver.url])
        procs = [
            subprocess.Popen(
                [EDGEWATCH, "replay", "simulated", "--loop", "--rate", "2000", "--partitions", "2",
                 "--metrics-port", str(ports["replay"])],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            ),
            subprocess.Popen(
                [EDGEWATCH, "run", "--members", "1", "--group-id", f"g-{run}",
                 "--metrics-port", str(ports["member"])],
                env=env, stdout=subprocess.DEVNULL, stderr=(tmp / "member.log").open("wb"),
            ),
            subprocess.Popen(
                ["prometheus", f"--config.file={tmp / 'prometheus.yml'}",
                 f"--storage.tsdb.path={tmp / 'tsdb'}",
                 f"--web.listen-address=127.0.0.1:{ports['prometheus']}"],
                stdout=subprocess.DEVNULL, stderr=(tmp / "prometheus.log").open("wb"),
            ),
        ]  # fmt: skip
        try:
            urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
            _wait_http(urls["prometheus"] + "/-/ready")
            _wait_http(urls["member"] + "/metrics")
            _wait_http(urls["replay"] + "/metrics")
            time.sleep(25)  # enough scrapes for rates, quantiles and deriv windows
            assert receiver.events, (tmp / "member.log").read_text()[-3000:]
            yield Stack(urls["prometheus"], urls["member"], urls["replay"])
        finally:
            for proc in reversed(procs):
                _stop(proc)


def _query(stack: Stack, expr: str) -> list[dict[str, object]]:
    answer = httpx.get(f"{stack.prometheus}/api/v1/query", params={"query": expr}, timeout=10)
    body = answer.json()
    assert body["status"] == "success", f"{expr}: {body}"
    return list(body["data"]["result"])


def _label_values(stack: Stack, query: str) -> list[str]:
    """Grafana's ``label_values(selector, label)`` through the Prometheus series API."""
    match = re.fullmatch(r"label_values\((.+), *(\w+)\)", query)
    assert match, f"unsupported variable query {query!r}"
    selector, label = match.groups()
    answer = httpx.get(
        f"{stack.prometheus}/api/v1/label/{label}/values", params={"match[]": selector}, timeout=10
    )
    return list(answer.json()["data"])


def _variables(stack: Stack, dashboard: dict[str, object]) -> dict[str, str]:
    """Each variable at its first value (resolved in order, as Grafana does)."""
    values: dict[str, str] = {}
    for variable in dashboard["templating"]["list"]:  # type: ignore[index]
        query = _substitute(variable["definition"], values)
        found = _label_values(stack, query)
        assert found, f"variable {variable['name']}: {query} has no values"
        values[variable["name"]] = found[0]
    return values


def _substitute(expr: str, values: dict[str, str]) -> str:
    for name, value in {**BUILTINS, **{f"${k}": v for k, v in values.items()}}.items():
        expr = expr.replace(name, value)
    return expr


def _signal(alert_expr: str) -> str:
    """The signal of an alert written as ``signal op number``."""
    match = re.fullmatch(r"(.+?)\s*(==|!=|>=|<=|>|<)\s*[-+0-9.e]+", alert_expr.strip())
    assert match, f"alert expression {alert_expr!r} is not `signal op number`"
    return match.group(1)


def test_every_panel_expression_returns_data(stack: Stack) -> None:
    empty, nan = [], []
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        values = _variables(stack, dashboard)
        for panel in dashboard["panels"]:
            for target in panel["targets"]:
                expr = _substitute(target["expr"], values)
                assert "$" not in expr, f"unresolved variable in {expr}"
                result = _query(stack, expr)
                where = f"{path.stem} / {panel['title']} / {target['legendFormat']}"
                if not result:
                    empty.append(f"{where}: {expr}")
                elif target["legendFormat"] not in MAY_BE_NAN and all(
                    math.isnan(float(r["value"][1]))  # type: ignore[index]
                    for r in result
                ):
                    nan.append(f"{where}: {expr}")
    assert not empty, "panels without data:\n" + "\n".join(empty)
    assert not nan, "panels with only NaN:\n" + "\n".join(nan)


def test_every_rule_and_alert_signal_returns_data(stack: Stack) -> None:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    for rule in rules:
        expr = rule["expr"] if "record" in rule else _signal(rule["expr"])
        assert _query(stack, expr), f"{rule.get('record') or rule['alert']}: {expr} is empty"
        if "record" in rule:
            assert _query(stack, rule["record"]), f"recorded {rule['record']} has no samples"
    loaded = httpx.get(f"{stack.prometheus}/api/v1/rules", timeout=10).json()["data"]["groups"]
    health = {r["name"]: r["health"] for g in loaded for r in g["rules"]}
    assert health == {r.get("record") or r["alert"]: "ok" for r in rules}


def test_targets_are_up(stack: Stack) -> None:
    up = {r["metric"]["job"]: r["value"][1] for r in _query(stack, "up")}  # type: ignore[index]
    assert up == {"edgewatch": "1", "edgewatch-replay": "1"}


@pytest.mark.parametrize("which", ["member_metrics", "replay_metrics"])
def test_promtool_finds_nothing_in_a_live_scrape(stack: Stack, which: str) -> None:
    body = httpx.get(getattr(stack, which) + "/metrics", timeout=10).content
    lint = subprocess.run(
        ["promtool", "check", "metrics"], input=body, capture_output=True, check=False
    )
    assert (lint.returncode, lint.stdout + lint.stderr) == (0, b"")


@pytest.mark.parametrize(
    "command",
    [
        ["check", "config", "--syntax-only", "prometheus/prometheus.yml"],
        ["check", "rules", "prometheus/rules/edgewatch.yml"],
        ["test", "rules", "prometheus/tests/edgewatch.test.yml"],
    ],
    ids=["config", "rules", "rule-tests"],
)
def test_promtool_accepts_the_shipped_files(command: list[str]) -> None:
    result = subprocess.run(
        ["promtool", *command], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(shutil.which("amtool") is None, reason="amtool not installed")
def test_amtool_accepts_the_alertmanager_config() -> None:
    result = subprocess.run(
        ["amtool", "check-config", "alertmanager/alertmanager.yml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_rule_tests_cover_every_alert() -> None:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    alerts = {rule["alert"] for group in groups for rule in group["rules"] if "alert" in rule}
    tests = yaml.safe_load((ROOT / "prometheus" / "tests" / "edgewatch.test.yml").read_text())
    tested = {
        case["alertname"]
        for test in tests["tests"]
        for case in test.get("alert_rule_test", [])
        if case["exp_alerts"]
    }
    assert tested == alerts
