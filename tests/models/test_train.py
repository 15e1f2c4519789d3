from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from edgewatch.models.metrics import best_threshold, evaluate  # noqa: E402
from edgewatch.models.networks import build  # noqa: E402
from edgewatch.models.train import TrainConfig, focal_loss, predict, seed_everything, train  # noqa: E402
from edgewatch.models.windows import WindowSet  # noqa: E402


def _toy(n: int, seed: int) -> WindowSet:
    """Separable: a window is anomalous when its last reading jumps far from the others."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 0.1, (n, 10, 1)).astype(np.float32)
    y = (rng.random(n) < 0.3).astype(np.int64)
    x[y == 1, -1, 0] += 2.0
    return WindowSet(x, y)


def _fit(seed: int = 7, epochs: int = 4) -> tuple[torch.nn.Module, list[float]]:
    cfg = TrainConfig(epochs=epochs, batch_size=64, lr=5e-3, seed=seed)
    seed_everything(cfg.seed, cfg.threads)
    result = train(build("light_cnn_lstm", 1), _toy(2_000, 1), _toy(500, 2), cfg)
    return result.model, [e.val_loss for e in result.history]


def test_a_tiny_run_learns_a_separable_set() -> None:
    model, _ = _fit()
    val, test = _toy(500, 2), _toy(500, 3)
    threshold = best_threshold(val.y, predict(model, val.x))
    assert evaluate(test.y, predict(model, test.x), threshold).f1 > 0.95


def test_same_seed_same_weights() -> None:
    first, losses_a = _fit()
    second, losses_b = _fit()
    assert losses_a == losses_b
    for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_early_stopping_restores_the_best_epoch() -> None:
    cfg = TrainConfig(epochs=30, batch_size=64, lr=5e-2, patience=2, seed=3)
    seed_everything(cfg.seed)
    result = train(build("lstm", 1), _toy(600, 1), _toy(200, 2), cfg)
    best = min(result.history, key=lambda e: e.val_loss)
    assert result.best_epoch == best.epoch
    assert len(result.history) <= 30


def test_focal_loss_down_weights_easy_examples() -> None:
    y = torch.tensor([1.0, 1.0])
    easy, hard = torch.tensor([0.95, 0.95]), torch.tensor([0.3, 0.3])
    assert focal_loss(easy, y, 0.75, 2.0) < 0.01 * focal_loss(hard, y, 0.75, 2.0)


def test_a_set_with_a_target_is_fitted_to_it_by_mse_with_weight_decay() -> None:
    """The model learns the graded target (the size of the jump), not only the label."""
    rng = np.random.default_rng(0)

    def graded(n: int) -> WindowSet:
        x = rng.normal(0, 0.1, (n, 10, 1)).astype(np.float32)
        size = rng.random(n).astype(np.float32)
        x[:, -1, 0] += 2.0 * size
        return WindowSet(x, (size > 0.8).astype(np.int64), target=size)

    cfg = TrainConfig(epochs=8, batch_size=64, lr=5e-3, seed=1, weight_decay=1e-2)
    seed_everything(cfg.seed)
    test = graded(400)
    result = train(build("light_cnn_lstm", 1), graded(2_000), graded(400), cfg)
    assert result.history[-1].val_loss < 0.02  # MSE against the target
    assert np.corrcoef(predict(result.model, test.x), test.target)[0, 1] > 0.95


def test_weight_decay_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="weight_decay"):
        TrainConfig(weight_decay=1.5)
