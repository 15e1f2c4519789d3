"""The comparison set as trained, scorable variants: plain networks, pruned, INT8, collaborative.

Each variant yields validation and test scores from the runtime that would serve it (torch or
ONNX Runtime), so thresholds are picked on validation and metrics read on test, uniformly.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import cast

import numpy as np
import onnxruntime as ort
import torch
from torch import nn
from torch.nn.utils import prune

from edgewatch.models.export import calibration_windows, export_onnx, quantize_int8
from edgewatch.models.networks import LstmAutoencoder, ReconstructionError, build
from edgewatch.models.train import TrainConfig, predict, seed_everything, train
from edgewatch.models.windows import Splits, WindowSet

__all__ = [
    "Trained",
    "collaborative_scores",
    "prune_and_finetune",
    "train_autoencoder",
    "train_network",
]


@dataclass
class Trained:
    """A fitted variant: how to score windows, and what it costs to ship."""

    name: str
    score: Callable[[np.ndarray], np.ndarray]
    parameters: int  # non-zero parameters
    size_bytes: int  # the ONNX file (FP32 for torch rows), or the pickled estimator
    runtime: str  # "torch" or "onnxruntime"
    wake_rate: float | None = None


def train_network(name: str, splits: Splits, cfg: TrainConfig) -> nn.Module:
    seed_everything(cfg.seed, cfg.threads)
    return train(build(name, len(splits.channels)), splits.train, splits.val, cfg).model


def _normal(data: WindowSet) -> WindowSet:
    keep = data.y == 0
    return WindowSet(data.x[keep], data.y[keep])


def train_autoencoder(splits: Splits, cfg: TrainConfig) -> nn.Module:
    """An LSTM autoencoder fitted to the normal windows of train (early stopping on the normal
    windows of validation): labels are never used beyond choosing which windows are normal, so
    the same recipe serves streams without labels. Returns it wrapped as a window scorer."""
    seed_everything(cfg.seed, cfg.threads)
    model = ReconstructionError(LstmAutoencoder(len(splits.channels)))
    result = train(
        model,
        _normal(splits.train),
        _normal(splits.val),
        cfg,
        loss=lambda error, _: error.mean(),
    )
    return result.model


def prune_and_finetune(
    model: nn.Module, splits: Splits, cfg: TrainConfig, amount: float = 0.75
) -> nn.Module:
    """L1 unstructured pruning of every weight matrix to ``amount`` sparsity, then fine-tuning
    (the masks stay on while fine-tuning, so pruned weights stay zero), then made permanent."""
    targets = [
        (module, param)
        for module in model.modules()
        for param, _ in list(module.named_parameters(recurse=False))
        if param.startswith("weight")
    ]
    prune.global_unstructured(targets, pruning_method=prune.L1Unstructured, amount=amount)
    seed_everything(cfg.seed, cfg.threads)
    finetuned = train(model, splits.train, splits.val, replace(cfg, epochs=max(1, cfg.epochs // 3)))
    remove = cast("Callable[[nn.Module, str], nn.Module]", prune.remove)  # untyped upstream
    for module, param in targets:
        remove(module, param)
    return finetuned.model


def nonzero_parameters(model: nn.Module) -> int:
    return int(sum(int(torch.count_nonzero(p)) for p in model.parameters()))


def onnx_session(
    model: nn.Module, splits: Splits, int8: bool, folder: Path
) -> tuple[ort.InferenceSession, int]:
    path = export_onnx(model, folder / "fp32.onnx", splits.seq_len, len(splits.channels))
    if int8:
        calibration = calibration_windows(splits.train.x, seed=0)
        path = quantize_int8(path, folder / "int8.onnx", calibration)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), options), path.stat().st_size


def as_torch(name: str, model: nn.Module, splits: Splits) -> Trained:
    with tempfile.TemporaryDirectory() as tmp:
        _, size = onnx_session(model, splits, int8=False, folder=Path(tmp))
    return Trained(name, lambda x: predict(model, x), nonzero_parameters(model), size, "torch")


def as_onnx(name: str, model: nn.Module, splits: Splits, int8: bool) -> Trained:
    with tempfile.TemporaryDirectory() as tmp:
        session, size = onnx_session(model, splits, int8, Path(tmp))

    def score(x: np.ndarray) -> np.ndarray:
        return np.concatenate(
            [
                session.run(None, {"window": x[i : i + 8192]})[0].reshape(-1)
                for i in range(0, len(x), 8192)
            ]
        ).astype(np.float64)

    return Trained(name, score, nonzero_parameters(model), size, "onnxruntime")


def collaborative_scores(
    sentinel: Callable[[np.ndarray], np.ndarray],
    full: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    confidence: float,
) -> tuple[np.ndarray, float]:
    """End-edge collaboration: the sentinel answers where it is confident
    (|p - 0.5| x 2 >= ``confidence``); elsewhere the full model is woken. Returns the system's
    scores and the wake rate."""
    p = sentinel(x)
    wake = np.abs(p - 0.5) * 2 < confidence
    out = p.copy()
    if wake.any():
        out[wake] = full(x[wake])
    return out, float(wake.mean()) if len(x) else 0.0


def collaborative(
    sentinel: Trained, full: Trained, confidence: float, x_val: np.ndarray
) -> Trained:
    _, wake_rate = collaborative_scores(sentinel.score, full.score, x_val, confidence)
    return Trained(
        f"collaborative (sentinel confidence {confidence})",
        lambda x: collaborative_scores(sentinel.score, full.score, x, confidence)[0],
        sentinel.parameters + full.parameters,
        sentinel.size_bytes + full.size_bytes,
        full.runtime,
        wake_rate,
    )
