from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from edgewatch.errors import DataError  # noqa: E402
from edgewatch.models import job  # noqa: E402
from edgewatch.models.artifacts import load_card, load_model, shipped_card  # noqa: E402
from edgewatch.models.export import export_onnx, quantize_int8  # noqa: E402
from edgewatch.models.train import TrainConfig  # noqa: E402
from edgewatch.models.windows import simulated_splits  # noqa: E402
from edgewatch.producers.simulated import FleetSpec  # noqa: E402

SMALL = FleetSpec(assets=2, points=3_000)
CFG = TrainConfig(epochs=2, batch_size=128)
SHIPPED = Path(__file__).resolve().parents[2] / "models" / "artifacts"


@pytest.fixture(scope="module")
def splits():  # type: ignore[no-untyped-def]
    return simulated_splits(seq_len=10, spec=SMALL)


@pytest.fixture(scope="module")
def artifact(splits, tmp_path_factory: pytest.TempPathFactory) -> Path:  # type: ignore[no-untyped-def]
    return job.train_artifact(splits, tmp_path_factory.mktemp("a"), CFG)


def test_same_seed_gives_the_same_sha256(splits, artifact: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    again = job.train_artifact(splits, tmp_path, CFG)
    assert load_card(again)["sha256"] == load_card(artifact)["sha256"]
    assert again.read_bytes() == artifact.read_bytes()


def test_threshold_is_chosen_on_validation_labels_only(
    splits, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    seen: list[np.ndarray] = []
    real = job.best_threshold

    def spy(y: np.ndarray, score: np.ndarray) -> float:
        seen.append(y)
        return real(y, score)

    monkeypatch.setattr(job, "best_threshold", spy)
    job.train_artifact(splits, tmp_path, CFG)
    assert seen
    assert all(y is splits.val.y for y in seen)


def test_card_describes_the_artifact(artifact: Path) -> None:
    card = load_card(artifact)
    assert card["channels"] == ["value"]
    assert card["seq_len"] == 10
    assert card["precision"] == "int8"
    assert card["scaling"]["mode"] == "per_asset"
    assert set(card["metrics"]) >= {"val_int8", "test_int8", "test_torch_fp32"}
    assert card["size_bytes"]["onnx_int8"] < card["size_bytes"]["onnx_fp32"]
    assert 0.0 < card["threshold"] < 1.0
    assert set(card["training"]["environment"]) >= {"python", "machine", "torch", "onnxruntime"}


def test_tampered_onnx_is_refused(artifact: Path, tmp_path: Path) -> None:
    copy_card = tmp_path / artifact.name
    copy_card.write_bytes(artifact.read_bytes())
    onnx = artifact.with_suffix(".onnx").read_bytes()
    (tmp_path / artifact.with_suffix(".onnx").name).write_bytes(onnx[:-1] + bytes([onnx[-1] ^ 1]))
    with pytest.raises(DataError, match="does not match the card"):
        load_model(copy_card)


def test_onnx_matches_torch(splits, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from edgewatch.models.networks import build
    from edgewatch.models.train import seed_everything, train

    seed_everything(0)
    model = train(build("edge_cnn_lstm", 1), splits.train, splits.val, CFG).model
    x = splits.test.x[:2_000]
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy().reshape(-1)
    fp32 = export_onnx(model, tmp_path / "m.onnx", 10, 1)
    int8 = quantize_int8(fp32, tmp_path / "q.onnx", splits.train.x[:512])
    import onnxruntime as ort

    for path, tolerance in ((fp32, 1e-4), (int8, 0.02)):
        got = ort.InferenceSession(str(path)).run(None, {"window": x})[0].reshape(-1)
        assert np.abs(got - expected).max() <= tolerance, path.name


_RUNTIME = """
import sys
import numpy as np
from edgewatch.models.artifacts import load_model
model = load_model(__import__("pathlib").Path(sys.argv[1]))
scores = model.score(np.zeros((3, model.seq_len, len(model.channels)), dtype=np.float32))
assert scores.shape == (3,), scores.shape
assert "torch" not in sys.modules, "the scoring path imported torch"
print("ok")
"""


def test_runtime_scoring_never_imports_torch(artifact: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _RUNTIME, str(artifact)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize("card", sorted(SHIPPED.glob("*.json")), ids=lambda p: p.stem)
def test_shipped_artifacts_load_and_verify(card: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _RUNTIME, str(card)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_rebuilding_the_shipped_fd001_artifact_reproduces_its_metrics(
    shared_data: Path, tmp_path: Path
) -> None:
    """The README's claim: `edgewatch train --dataset fd001` on any machine and library versions
    gives the shipped card's test metrics within 0.01 (bytes and threshold may differ). FD001's
    recipe (50-cycle padded windows of the sensors, health target, AdamW) trains in about a
    minute; the simulated fleet's artifact takes four."""
    from edgewatch.models.recipes import recipe
    from edgewatch.models.windows import fd001_splits

    shipped = load_card(shipped_card("fd001"))
    config = shipped["training"]["config"]
    rec = recipe("fd001")
    splits = fd001_splits(
        shared_data / "cmapss", rec.seq_len, pad_start=rec.pad_start,
        channels=list(rec.channels or ()), target=rec.target,
    )  # fmt: skip
    model = shipped["model"]
    rebuilt = load_card(job.train_artifact(splits, tmp_path, TrainConfig(**config), model))
    for metric in ("f1", "f1_last_cycle", "roc_auc", "pr_auc"):
        got, want = rebuilt["metrics"]["test_int8"][metric], shipped["metrics"]["test_int8"][metric]
        assert abs(got - want) <= 0.01, (metric, got, want)
    for key in ("channels", "seq_len", "pad_start", "scaling", "score"):
        assert rebuilt[key] == shipped[key], key


@pytest.mark.parametrize(
    "name",
    [
        stem
        for d in ("simulated", "fd001")
        for stem in (shipped_card(d).stem.removesuffix("-int8"), f"{d}-sentinel_lstm")
    ],
)
def test_a_shipped_windows_score_does_not_depend_on_its_batch(name: str) -> None:
    """Static quantization: batches of 1, 7 and 256, and batch-mates scaled x1000, give the same
    bits (dynamic quantization moved a score by up to 0.039 with its batch)."""
    model = load_model(SHIPPED / f"{name}-int8.json")
    rng = np.random.default_rng(3)
    x = rng.normal(size=(256, model.seq_len, len(model.channels))).astype(np.float32)
    whole = model.score(x)
    for size in (1, 7):
        parts = np.concatenate([model.score(x[i : i + size]) for i in range(0, len(x), size)])
        assert np.array_equal(parts, whole), size
    extreme = x.copy()
    extreme[1:] *= 1_000.0
    assert model.score(extreme)[0] == whole[0]


def test_the_shipped_models_are_under_40_percent_of_fp32() -> None:
    """The full models; a sentinel is tiny, and QDQ nodes weigh as much as its weights."""
    for card in (shipped_card(d) for d in ("simulated", "fd001")):
        sizes = load_card(card)["size_bytes"]
        assert sizes["onnx_int8"] < 0.4 * sizes["onnx_fp32"], card.name
