"""`evaluate_any` on labelled synthetic streams no model has seen: the default detector is the
online one, it beats a plain z-score rule and the windowed-Gaussian baseline on the
early-detection score, and the command line writes both rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
from typer.testing import CliRunner

from edgewatch.operators.baseline import BaselineDetector
from edgewatch.operators.evaluation import EarlyDetection
from edgewatch.pipeline.cli.main import app
from edgewatch.pipeline.jobs.anystream import evaluate_any
from edgewatch.pipeline.settings import DetectorSettings, IncidentSettings
from edgewatch.producers.csvfile import open_csv
from edgewatch.producers.synthetic import synthetic_corpus

FILES, SEED = 8, 3


def _corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for series in synthetic_corpus(FILES, SEED):
        series.frame.to_csv(folder / f"{series.name}.csv", index=False)
    return folder


def _zscore_baseline() -> float:
    """Each channel's z-score against its whole first half (a batch detector that peeks), an
    alarm at |z| >= 4, then 30 records of quiet: what a hand-written rule would do."""
    early = EarlyDetection()
    for series in synthetic_corpus(FILES, SEED):
        f = series.frame
        x = f.drop(columns=["timestamp", "label"]).to_numpy()
        half = x[: len(x) // 2]
        z = np.abs((x - half.mean(axis=0)) / (half.std(axis=0) + 1e-12)).max(axis=1)
        alarms, quiet = [], -1
        for i, v in enumerate(z.tolist()):
            fire = v >= 4.0 and i > quiet
            quiet = i + 30 if fire else quiet
            alarms.append(fire)
        early.add(f["label"].tolist(), alarms)
    return early.score


def test_default_detector_on_unseen_streams_beats_a_zscore_rule(tmp_path: Path) -> None:
    folder = _corpus(tmp_path / "streams")
    result = evaluate_any(
        open_csv(folder, label_column="label").records(), DetectorSettings(), IncidentSettings()
    ).as_dict()
    assert set(result["scored_by"]) == {"online"}
    assert result["unfit_records"] == 0
    assert result["events_detected"] >= result["events"] // 2
    assert result["early_score_incidents"] > max(_zscore_baseline(), 0.0) + 10


def test_default_detector_beats_the_windowed_gaussian_baseline(tmp_path: Path) -> None:
    folder = _corpus(tmp_path / "streams")
    cfg, incidents = DetectorSettings(), IncidentSettings()
    online = evaluate_any(open_csv(folder, label_column="label").records(), cfg, incidents)
    baseline = evaluate_any(
        open_csv(folder, label_column="label").records(),
        cfg,
        incidents,
        detector=BaselineDetector(cfg.alarm_rate),
    )
    assert set(baseline.models) == {"windowed-gaussian"}
    ours, theirs = online.as_dict(), baseline.as_dict()
    for reading in ("decisions", "incidents"):
        assert ours[f"early_score_{reading}"] > theirs[f"early_score_{reading}"], reading
    assert ours["alarm_rate_on_normal"] < theirs["alarm_rate_on_normal"]


def test_evaluate_csv_from_the_command_line(tmp_path: Path) -> None:
    folder = _corpus(tmp_path / "streams")
    out = tmp_path / "results"
    got = CliRunner().invoke(
        app,
        ["evaluate", "--dataset", "csv", "--path", str(folder), "--label-column", "label",
         "--out", str(out)],
    )  # fmt: skip
    assert got.exit_code == 0, got.output
    assert "early-detection score" in got.output
    row = orjson.loads((out / "csv-streams" / "evaluate.json").read_bytes())
    assert row["records"] == sum(len(s.frame) for s in synthetic_corpus(FILES, SEED))
    assert row["baseline"]["records"] == row["records"]
    assert "windowed-gaussian baseline" in got.output


def test_synth_writes_the_same_files_for_the_same_seed(tmp_path: Path) -> None:
    for name in ("a", "b"):
        got = CliRunner().invoke(
            app, ["datasets", "synth", "--out", str(tmp_path / name), "--files", "3"]
        )
        assert got.exit_code == 0, got.output
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert len(files) == 3
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
