"""Training: Adam(W), ReduceLROnPlateau, early stopping on validation loss, BCE, focal or MSE.

A window set with a ``target`` (FD001's health) is fitted to it by MSE; otherwise to its labels.

Deterministic on CPU for a given seed, thread count and library versions: seeded shuffling,
deterministic algorithms, a fixed number of threads. Early stopping restores the weights of the
best validation epoch.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
from torch import nn

from edgewatch.errors import ConfigError
from edgewatch.models.windows import WindowSet

__all__ = [
    "Epoch",
    "TrainConfig",
    "TrainResult",
    "focal_loss",
    "predict",
    "seed_everything",
    "train",
]


@dataclass(frozen=True, slots=True)
class TrainConfig:
    epochs: int = 40
    batch_size: int = 256
    lr: float = 1e-3
    patience: int = 6  # epochs without a better validation loss before stopping
    lr_patience: int = 2
    lr_factor: float = 0.5
    loss: Literal["bce", "focal"] = "bce"  # on labels; a set with a target always uses MSE
    weight_decay: float = 0.0  # decoupled (AdamW); 0 is plain Adam
    focal_alpha: float = 0.75
    focal_gamma: float = 2.0
    seed: int = 42
    threads: int = 1

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or not self.lr > 0:
            raise ConfigError.invalid(
                "epochs/batch_size/lr",
                "must be >= 1, >= 1 and > 0",
                (self.epochs, self.batch_size, self.lr),
            )
        if self.loss not in ("bce", "focal"):
            raise ConfigError.invalid("loss", "must be 'bce' or 'focal'", self.loss)
        if not 0 <= self.weight_decay < 1:
            raise ConfigError.invalid("weight_decay", "must be in [0, 1)", self.weight_decay)


@dataclass(frozen=True, slots=True)
class Epoch:
    epoch: int
    train_loss: float
    val_loss: float
    lr: float


@dataclass
class TrainResult:
    model: nn.Module
    best_epoch: int
    history: list[Epoch] = field(default_factory=list)


def seed_everything(seed: int, threads: int = 1) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)


def focal_loss(p: torch.Tensor, y: torch.Tensor, alpha: float, gamma: float) -> torch.Tensor:
    """Binary focal loss on probabilities (Lin et al. 2017)."""
    p = p.clamp(1e-7, 1 - 1e-7)
    pt = torch.where(y == 1, p, 1 - p)
    weight = torch.where(y == 1, torch.full_like(p, alpha), torch.full_like(p, 1 - alpha))
    return torch.mean(-weight * (1 - pt) ** gamma * torch.log(pt))


def _mse(p: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.mean((p - y) ** 2)


def _targets(data: WindowSet) -> np.ndarray:
    """What the model is fitted to: the set's target when it has one, else its labels."""
    return data.target if data.target.size else data.y.astype(np.float32)


def _loss_fn(
    cfg: TrainConfig, data: WindowSet
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    if data.target.size:
        return _mse
    if cfg.loss == "focal":
        return lambda p, y: focal_loss(p, y, cfg.focal_alpha, cfg.focal_gamma)
    bce = nn.BCELoss()
    return lambda p, y: torch.as_tensor(bce(p, y))


@torch.no_grad()
def predict(model: nn.Module, x: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    """Scores (probabilities) for windows x of shape (n, seq_len, channels)."""
    model.eval()
    out = [
        model(torch.from_numpy(x[i : i + batch_size])).reshape(-1)
        for i in range(0, len(x), batch_size)
    ]
    return torch.cat(out).numpy().astype(np.float64) if out else np.empty(0)


def _mean_loss(model: nn.Module, data: WindowSet, loss: Callable[..., torch.Tensor]) -> float:
    total = 0.0
    targets = _targets(data)
    with torch.no_grad():
        model.eval()
        for i in range(0, len(data), 4096):
            x = torch.from_numpy(data.x[i : i + 4096])
            y = torch.from_numpy(targets[i : i + 4096]).unsqueeze(1)
            total += float(loss(model(x), y)) * len(y)
    return total / max(len(data), 1)


def train(
    model: nn.Module,
    train_set: WindowSet,
    val_set: WindowSet,
    cfg: TrainConfig,
    on_step: Callable[[int, int, int], None] | None = None,
    on_epoch: Callable[[Epoch], None] | None = None,
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
) -> TrainResult:
    """Fit ``model`` (seed first with `seed_everything`); return it with its best weights.

    ``loss(output, y)`` defaults to MSE on the set's target, else the configured BCE or focal
    loss on its labels."""
    if len(train_set) == 0 or len(val_set) == 0:
        raise ConfigError("training needs non-empty train and validation windows")
    loss = loss or _loss_fn(cfg, train_set)
    optimizer = (
        torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        if cfg.weight_decay
        else torch.optim.Adam(model.parameters(), lr=cfg.lr)
    )
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, factor=cfg.lr_factor, patience=cfg.lr_patience
    )
    generator = torch.Generator().manual_seed(cfg.seed)
    x_all = torch.from_numpy(train_set.x)
    y_all = torch.from_numpy(_targets(train_set)).unsqueeze(1)
    steps = (len(train_set) + cfg.batch_size - 1) // cfg.batch_size
    best = (float("inf"), 0, copy.deepcopy(model.state_dict()))
    history: list[Epoch] = []
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        order = torch.randperm(len(train_set), generator=generator)
        running = 0.0
        for step in range(steps):
            idx = order[step * cfg.batch_size : (step + 1) * cfg.batch_size]
            optimizer.zero_grad()
            value = loss(model(x_all[idx]), y_all[idx])
            torch.autograd.backward(value)
            optimizer.step()
            running += value.item() * len(idx)
            if on_step is not None:
                on_step(epoch, step + 1, steps)
        val_loss = _mean_loss(model, val_set, loss)
        scheduler.step(val_loss)
        record = Epoch(epoch, running / len(train_set), val_loss, optimizer.param_groups[0]["lr"])
        history.append(record)
        if on_epoch is not None:
            on_epoch(record)
        if val_loss < best[0]:
            best = (val_loss, epoch, copy.deepcopy(model.state_dict()))
        elif epoch - best[1] >= cfg.patience:
            break
    model.load_state_dict(best[2])
    model.eval()
    return TrainResult(model, best[1], history)
