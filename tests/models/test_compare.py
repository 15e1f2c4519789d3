from __future__ import annotations

from pathlib import Path

import orjson
import pytest

torch = pytest.importorskip("torch")

from edgewatch.models.compare import COLUMNS, compare  # noqa: E402
from edgewatch.models.train import TrainConfig  # noqa: E402
from edgewatch.models.variants import collaborative_scores  # noqa: E402
from edgewatch.models.windows import simulated_splits  # noqa: E402
from edgewatch.producers.simulated import FleetSpec  # noqa: E402


def test_every_variant_gets_a_row_with_every_column(tmp_path: Path) -> None:
    splits = simulated_splits(spec=FleetSpec(assets=4, points=4_000))  # positives in val and test
    assert splits.test.y.any()
    rows = compare(splits, TrainConfig(epochs=1, batch_size=256), tmp_path, latency_budget_s=0.0)
    report = orjson.loads((tmp_path / "compare.json").read_bytes())
    assert report["channels"] == ["value"]
    names = [r["model"] for r in rows]
    assert len(names) == 20  # 5 baselines, the oracle, 9 networks, pruned, 2 INT8, AE, collab
    for needle in ("autoencoder", "pruned", "collaborative", "oracle", "LOF", "TCN", "AMCNN"):
        assert any(needle in n for n in names), needle
    network_columns = [k for k, _ in COLUMNS if k.startswith(("torch", "ort"))]
    for row in rows:
        assert 0.0 <= row["f1"] <= 1.0
        low, high = row["f1_ci95"]  # resampling the test split's assets
        assert 0.0 <= low <= high <= 1.0
        if row["runtime"] == "torch" and "collaborative" not in row["model"]:
            assert all(key in row for key in network_columns), row["model"]
        if row["runtime"] == "scikit-learn" and "oracle" not in row["model"]:
            assert row["native_b1_us"] > 0, row["model"]
            assert row["parameters"] > 0, row["model"]
    pruned = next(r for r in rows if "pruned" in r["model"])
    dense = next(r for r in rows if r["model"] == "1DCNN-LSTM")
    assert pruned["parameters"] <= 0.3 * dense["parameters"]  # 75% of weights are zero
    assert report["rows"] == rows
    table = (tmp_path / "compare.md").read_text()
    assert "| model | val F1 | F1 | F1 95% CI |" in table
    assert "last-cycle F1" not in table  # no column that no row has


def test_collaboration_wakes_the_full_model_only_when_the_sentinel_is_unsure() -> None:
    import numpy as np

    x = np.arange(6, dtype=np.float32).reshape(6, 1, 1)
    sentinel = lambda b: np.array([0.0, 0.99, 0.5, 0.6, 1.0, 0.3])[b[:, 0, 0].astype(int)]  # noqa: E731
    full = lambda b: np.full(len(b), 0.77)  # noqa: E731
    scores, wake = collaborative_scores(sentinel, full, x, confidence=0.9)
    assert wake == pytest.approx(3 / 6)  # confidence |p - .5| * 2: 1, .98, 0, .2, 1, .4
    assert scores.tolist() == [0.0, 0.99, 0.77, 0.77, 1.0, 0.77]
