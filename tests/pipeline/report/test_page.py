"""`edgewatch report`: from files and from topics, rendered by a real headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import orjson
import pytest

from edgewatch.detections import Detection
from edgewatch.errors import ConfigError
from edgewatch.pipeline.app import ensure_member_topics, open_member
from edgewatch.pipeline.kafka.broker import EmbeddedBroker
from edgewatch.pipeline.kafka.kafka_python import KafkaSink
from edgewatch.pipeline.report.data import load_run
from edgewatch.pipeline.report.page import render
from edgewatch.pipeline.settings import Settings
from edgewatch.producers.replay import replay
from edgewatch.producers.simulated import FleetSpec, simulate_fleet
from edgewatch.records import encode_record

EDGEWATCH = str(Path(sys.executable).with_name("edgewatch"))
CHROMIUM = shutil.which("chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]


def _detection(asset: str, seq: int, score: float, label: int) -> Detection:
    return Detection(asset, 1_000 * seq, seq, score, 0.5, score >= 0.5, "m", "v1", label=label)


def _write_run(tmp_path: Path, envelopes: bool) -> tuple[Path, Path]:
    records = list(simulate_fleet(FleetSpec(assets=2, points=3_000)).records())
    detections = [
        _detection(r.asset, r.seq, 0.9 if r.label else 0.1, r.label or 0) for r in records
    ]

    def line(ts: int, value: bytes) -> bytes:
        return orjson.dumps({"ts": ts, "payload": value.decode()}) if envelopes else value

    runs, inputs = tmp_path / "run.jsonl", tmp_path / "records.jsonl"
    runs.write_bytes(b"\n".join(line(2_005 + i, d.encode()) for i, d in enumerate(detections)))
    inputs.write_bytes(b"\n".join(line(2_000 + i, encode_record(r)) for i, r in enumerate(records)))
    return runs, inputs


def test_files_give_plots_per_asset_and_scores(tmp_path: Path) -> None:
    runs, inputs = _write_run(tmp_path, envelopes=False)
    data = load_run(str(runs), str(inputs))
    assert sorted(data.assets) == ["sim-000", "sim-001"]
    assert data.detections == 6_000
    assert len(data.latencies_ms) == 0
    assert all(a.signals for a in data.assets.values())
    html = render(data, "t")
    assert html.count('<svg class="plot"') == 2
    assert "precision / recall / F1 (point-wise)</td><td>1.0000 / 1.0000 / 1.0000" in html
    assert "Not available" in html  # no producer timestamps in plain files


def test_kcat_envelopes_give_latencies(tmp_path: Path) -> None:
    runs, inputs = _write_run(tmp_path, envelopes=True)
    data = load_run(str(runs), str(inputs), assets=["sim-001"])
    assert list(data.assets) == ["sim-001"]
    assert set(data.latencies_ms.tolist()) == {5.0}
    assert render(data, "t").count('<svg class="plot') == 2  # one asset and the histogram


def test_bad_input_is_a_clear_error(tmp_path: Path) -> None:
    _, inputs = _write_run(tmp_path, envelopes=False)
    with pytest.raises(ConfigError, match=r"lacks score, threshold, decision.*--records"):
        load_run(str(inputs))  # records given where detections belong
    with pytest.raises(ConfigError, match=r"not a file.*--bootstrap-servers"):
        load_run("no-such-topic")


@pytest.mark.integration
@pytest.mark.skipif(
    CHROMIUM is None, reason="chromium not installed (Debian: apt-get install chromium)"
)
def test_report_of_a_kafka_run_renders_in_chromium(broker: EmbeddedBroker, tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:8]
    kafka = {"bootstrap_servers": broker.bootstrap_servers, "input_topic": f"in-{run}",
             "detections_topic": f"det-{run}", "dlq_topic": f"dlq-{run}",
             "incidents_topic": f"inc-{run}", "group_id": f"g-{run}", "partitions": 2}  # fmt: skip
    settings = Settings.load(kafka=kafka, emit="all")
    k = settings.kafka
    ensure_member_topics(broker.bootstrap_servers, k)
    records = list(simulate_fleet(FleetSpec(assets=3, points=3_000)).records(limit=3_000))
    sink = KafkaSink(broker.bootstrap_servers)
    replay(records, sink, k.input_topic)
    sink.close()
    with open_member(settings, broker.bootstrap_servers) as member:
        deadline = time.monotonic() + 60
        while member.consumed < len(records) and time.monotonic() < deadline:
            member.step(k.poll_timeout_ms, k.max_poll_records)

    out = tmp_path / "report.html"
    args = [EDGEWATCH, "report", k.detections_topic, "--records", k.input_topic]
    args += ["-b", broker.bootstrap_servers, "--out", str(out)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "3 assets" in done.stderr

    dom = subprocess.run(
        [str(CHROMIUM), *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
         out.as_uri()],
        capture_output=True, text=True, timeout=90, check=False,
    ).stdout  # fmt: skip
    assert 'data-plots-rendered="4"' in dom, dom[:2000]  # 3 assets + the latency histogram
    plots = re.findall(r'<svg class="plot"[^>]*data-asset="([^"]+)"[^>]*data-rendered="(\w+)"', dom)
    assert sorted(plots) == [(f"sim-00{i}", "true") for i in range(3)]
    assert dom.count('class="score"') == 3
    assert dom.count('class="bar"') == 30
    assert "p99" in dom
