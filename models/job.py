"""`edgewatch train`: from a data set to a shipped INT8 ONNX artifact with its card.

splits -> train (torch, seeded) -> FP32 ONNX -> static INT8 ONNX (calibrated on training
windows) -> scores with ONNX Runtime -> threshold chosen on the validation split (INT8 scores) ->
test metrics -> card with sha256.
Nothing here reads the clock or writes anything that varies between runs, so the same seed,
machine and library versions give byte-identical artifacts. Elsewhere the bytes differ (training
kernels round differently per CPU, quantizers name initializers differently per version) and so
may the threshold; the test metrics agree closely. The card records the versions it was built
with (``training.environment``).
"""

from __future__ import annotations

import platform
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch

from edgewatch.models.artifacts import open_session, sha256_of, write_card
from edgewatch.models.export import INPUT, calibration_windows, export_onnx, quantize_int8
from edgewatch.models.metrics import best_threshold, evaluate, last_cycle_f1
from edgewatch.models.networks import AUTOENCODERS, PcaResidual, build, count_parameters
from edgewatch.models.train import (
    Epoch,
    TrainConfig,
    TrainResult,
    predict,
    seed_everything,
    train,
)
from edgewatch.models.windows import Splits

__all__ = ["environment", "train_artifact"]


def _ort_scores(session: Any, x: np.ndarray) -> np.ndarray:
    runs = [session.run(None, {INPUT: x[i : i + 8192]})[0] for i in range(0, len(x), 8192)]
    return np.concatenate(runs).reshape(-1).astype(np.float64)


def environment() -> dict[str, str]:
    """What the artifact's bytes depend on beyond the seed: the machine and library versions."""
    versions = {"python": platform.python_version(), "machine": platform.machine()}
    for package in ("torch", "onnx", "onnxruntime", "numpy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "absent"
    return versions


#: Models of normal windows, trained without labels (`pca` in closed form).
UNSUPERVISED = frozenset({*AUTOENCODERS, "pca"})
#: Unsupervised models alarm above this quantile of their validation (normal) windows' scores.
NORMAL_QUANTILE = 0.99


def _mean_score(output: Any, y: Any) -> Any:
    """The loss of an autoencoder wrapped in `ReconstructionError`: its mean error (no labels)."""
    return output.mean()


def train_artifact(
    splits: Splits,
    out_dir: Path,
    cfg: TrainConfig,
    model_name: str = "edge_cnn_lstm",
    on_step: Callable[[int, int, int], None] | None = None,
    on_epoch: Callable[[Epoch], None] | None = None,
    command: str | None = None,
    quantile: float = NORMAL_QUANTILE,
) -> Path:
    """Train, export and quantize; write ``<dataset>-<model>-int8.{onnx,json}``; return the card.

    A classifier's threshold maximises F1 on the validation split; an autoencoder (a model of
    normal windows, `AUTOENCODERS`) alarms above the ``quantile`` of its validation scores."""
    seed_everything(cfg.seed, cfg.threads)
    channels = len(splits.channels)
    normal = model_name in UNSUPERVISED
    health = bool(splits.train.target.size)  # fitted to FD001's health, not the label
    model = build(model_name, channels)
    if isinstance(model, PcaResidual):  # closed form: no epochs
        readings = torch.from_numpy(splits.train.x.reshape(-1, channels))
        result = TrainResult(model.fit(readings).eval(), 0)
    else:
        loss = _mean_score if normal else None
        result = train(
            model, splits.train, splits.val, cfg, on_step=on_step, on_epoch=on_epoch, loss=loss
        )

    def choose(val_scores: np.ndarray) -> float:
        if normal:
            return float(np.quantile(val_scores, quantile))
        return best_threshold(splits.val.y, val_scores)

    torch_test = predict(result.model, splits.test.x)
    torch_threshold = choose(predict(result.model, splits.val.x))

    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{splits.dataset}-{model_name}-int8"
    onnx_path = out_dir / f"{stem}.onnx"
    card_path = out_dir / f"{stem}.json"
    with tempfile.TemporaryDirectory(prefix="edgewatch-train-") as tmp:
        fp32 = export_onnx(result.model, Path(tmp) / "fp32.onnx", splits.seq_len, channels)
        quantize_int8(fp32, onnx_path, calibration_windows(splits.train.x, cfg.seed))
        fp32_size = fp32.stat().st_size
    card: dict[str, Any] = {
        "name": stem,
        "model": model_name,
        "version": f"{splits.dataset}-seed{cfg.seed}",
        "dataset": splits.dataset,
        "precision": "int8",
        "onnx": onnx_path.name,
        "sha256": sha256_of(onnx_path),
        "channels": splits.channels,
        "seq_len": splits.seq_len,
        "pad_start": splits.pad_start,
        "scaling": splits.scaling.to_card(),
        "threshold": 0.5,  # replaced below by the validation choice on INT8 scores
        "score": "normal_model_error" if normal else "health" if health else "probability",
        "parameters": count_parameters(result.model),
        "size_bytes": {"onnx_fp32": fp32_size, "onnx_int8": onnx_path.stat().st_size},
        "training": {
            "config": asdict(cfg),
            "data": splits.description,
            "windows": {
                "train": len(splits.train),
                "val": len(splits.val),
                "test": len(splits.test),
            },
            "best_epoch": result.best_epoch,
            "epochs_run": len(result.history),
            "command": command or f"edgewatch train --dataset {splits.dataset} --seed {cfg.seed}",
            "environment": environment(),
        },
    }
    session = open_session(onnx_path)
    int8_val = _ort_scores(session, splits.val.x)
    threshold = choose(int8_val)
    card["threshold"] = threshold
    card["metrics"] = {
        "threshold_chosen_on": f"validation quantile {quantile}" if normal else "validation",
        "val_int8": evaluate(splits.val.y, int8_val, threshold).as_dict(),
    }
    if len(splits.test):
        int8_test = _ort_scores(session, splits.test.x)
        card["metrics"]["test_int8"] = evaluate(splits.test.y, int8_test, threshold).as_dict()
        if splits.dataset == "fd001" and splits.test.group.size:
            card["metrics"]["test_int8"]["f1_last_cycle"] = round(
                last_cycle_f1(splits.test.y, int8_test, threshold, splits.test.group), 6
            )
        card["metrics"]["test_torch_fp32"] = evaluate(
            splits.test.y, torch_test, torch_threshold
        ).as_dict()
    return write_card(card_path, card)
