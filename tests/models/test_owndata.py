"""Training on a user's own data: splits from records, the unsupervised and supervised choice,
and the whole path from a CSV file or a MetroPT-format file to a card that `evaluate` and `run`
load, with point-wise F1 and false-alarm rate on a multivariate rig no model has seen."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pytest
from typer.testing import CliRunner

pytest.importorskip("torch")

from edgewatch.errors import ConfigError, DataError
from edgewatch.models.owndata import own_splits
from edgewatch.pipeline.cli.main import app
from edgewatch.producers.csvfile import open_csv
from edgewatch.producers.metropt import CHANNELS, FILE_NAME
from edgewatch.producers.synthetic import rig


def _rig_file(folder: Path, seed: int = 0, **kwargs: float) -> Path:
    path = folder / f"rig-{seed}.csv"
    rig(seed, **kwargs).frame.to_csv(path, index=False)  # type: ignore[arg-type]
    return path


def test_leading_normal_part_trains_a_model_of_normal_windows(tmp_path: Path) -> None:
    path = _rig_file(tmp_path)
    splits, mode = own_splits(open_csv(path, label_column="label").records(), "rig", 10)
    assert mode == "unsupervised"
    assert not splits.train.y.any()
    assert not splits.val.y.any()
    assert splits.test.y.any()
    assert splits.channels[:3] == ["current", "pressure", "flow"]
    n = len(rig(0).frame)
    assert len(splits.train) + len(splits.val) + len(splits.test) == n - 3 * 9


def test_faults_in_the_leading_part_train_a_classifier_and_the_cut_moves(tmp_path: Path) -> None:
    path = _rig_file(tmp_path, normal_share=0.05)
    records = list(open_csv(path, label_column="label").records())
    _, mode = own_splits(records, "rig", 10)
    assert mode == "supervised"
    cut = records[999].ts
    splits, _ = own_splits(records, "rig", 10, train_until=cut, mode="unsupervised")
    assert len(splits.train) + len(splits.val) <= 1_000


def test_bad_requests_name_what_to_change(tmp_path: Path) -> None:
    records = list(open_csv(_rig_file(tmp_path), label_column="label").records())
    with pytest.raises(ConfigError, match="not in the data: torque"):
        own_splits(records, "rig", 10, channels=["flow", "torque"])
    with pytest.raises(DataError, match="--train-until later"):
        own_splits(records, "rig", 10, train_until=records[5].ts)
    with pytest.raises(DataError, match="--mode unsupervised"):
        own_splits(records, "rig", 10, mode="supervised")


def _invoke(*args: str) -> str:
    got = CliRunner().invoke(app, list(args))
    assert got.exit_code == 0, got.output
    return got.output


@pytest.mark.parametrize("seed", [0, 1])
def test_train_then_evaluate_a_rig_from_the_command_line(tmp_path: Path, seed: int) -> None:
    path = _rig_file(tmp_path, seed)
    models = tmp_path / "models"
    _invoke("train", "--dataset", "csv", "--path", str(path), "--label-column", "label",
            "--out", str(models))  # fmt: skip
    card = models / f"csv-rig-{seed}-pca-int8.json"
    assert orjson.loads(card.read_bytes())["training"]["data"]["mode"] == "unsupervised"
    _invoke("evaluate", "--dataset", "csv", "--path", str(path), "--label-column", "label",
            "--model", str(card), "--out", str(tmp_path / "results"))  # fmt: skip
    row = orjson.loads((tmp_path / "results" / f"csv-rig-{seed}" / "evaluate.json").read_bytes())
    assert row["scored_by"] == {card.stem: len(rig(seed).frame) - 9}
    assert row["f1"] >= 0.78
    assert row["alarm_rate_on_normal"] < 0.2


def _metropt_like(path: Path, rows: int = 6_000) -> Path:
    """A file in the official format: a compressor cycling every few minutes, and an air leak
    (pressures fall faster while the motor works harder) in the last third."""
    rng = np.random.default_rng(3)
    t = np.arange(rows)
    on = (t // 18) % 2 == 0
    leak = t > 2 * rows // 3
    tp2 = np.where(on, 9.0, 0.0) + rng.normal(0, 0.05, rows) - np.where(leak & on, 0.8, 0.0)
    data = {c: rng.normal(0, 0.05, rows) for c in CHANNELS}
    data.update({
        "TP2": tp2, "TP3": 8.5 + 0.4 * on + rng.normal(0, 0.02, rows) - 0.6 * leak,
        "Reservoirs": 8.5 + 0.4 * on + rng.normal(0, 0.02, rows) - 0.6 * leak,
        "Motor_current": np.where(on, 5.5, 0.05) + rng.normal(0, 0.1, rows) + 1.5 * (leak & on),
        "COMP": (~on).astype(float), "MPG": (~on).astype(float),
    })  # fmt: skip
    frame = pd.DataFrame(data)[list(CHANNELS)]
    stamps = pd.to_datetime(1_600_000_000_000 + t * 10_000, unit="ms")
    frame.insert(0, "timestamp", stamps.strftime("%Y-%m-%d %H:%M:%S"))
    frame.index = frame.index * 10
    frame.to_csv(path)
    return path


def test_train_metropt_on_a_file_in_the_official_format(tmp_path: Path) -> None:
    _metropt_like(tmp_path / FILE_NAME)
    start = pd.Timestamp(1_600_000_000_000 + 4_000 * 10_000, unit="ms")
    windows = tmp_path / "leak.json"
    windows.write_text(orjson.dumps([[str(start), "2030-01-01 00:00:00"]]).decode())
    models = tmp_path / "models"
    _invoke("train", "--dataset", "metropt", "--path", str(tmp_path), "--windows", str(windows),
            "--out", str(models))  # fmt: skip
    card = orjson.loads((models / "metropt-pca-int8.json").read_bytes())
    assert card["channels"] == list(CHANNELS)
    assert card["metrics"]["test_int8"]["recall"] > 0.5


def test_train_on_the_shipped_metropt_sample(shared_data: Path, tmp_path: Path) -> None:
    _invoke("train", "--dataset", "csv", "--path",
            str(shared_data / "metropt3" / "MetroPT3(AirCompressor).sample1000.csv"),
            "--epochs", "2", "--out", str(tmp_path))  # fmt: skip
    assert list(tmp_path.glob("*.onnx"))
