from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from edgewatch.errors import ConfigError  # noqa: E402
from edgewatch.models.networks import (  # noqa: E402
    CLASSIFIERS,
    EdgeCnnLstm,
    LstmAutoencoder,
    build,
    count_parameters,
)


@pytest.mark.parametrize("name", CLASSIFIERS)
@pytest.mark.parametrize("channels", [1, 17])
def test_classifiers_give_one_probability_per_window(name: str, channels: int) -> None:
    model = build(name, channels).eval()
    out = model(torch.randn(5, 10, channels))
    assert out.shape == (5, 1)
    assert bool(((out >= 0) & (out <= 1)).all())


def test_proposed_model_has_the_specified_layers_and_parameters() -> None:
    c, conv, hidden = 1, 16, 32
    lstm = lambda n_in: 4 * hidden * (n_in + hidden) + 2 * 4 * hidden  # noqa: E731
    expected = (c * conv * 3 + conv) + 2 * conv + lstm(conv) + lstm(hidden) + (hidden + 1)
    model = EdgeCnnLstm(c)
    assert count_parameters(model) == expected == 14_977
    assert model.lstm.num_layers == 2
    assert model.lstm.dropout == 0.2
    assert model.drop.p == 0.2


def test_autoencoder_reconstructs_the_window_shape() -> None:
    assert LstmAutoencoder(3)(torch.randn(4, 10, 3)).shape == (4, 10, 3)


def test_unknown_model_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="must be one of"):
        build("gru", 1)


def test_pca_residual_equals_the_q_statistic_computed_in_numpy() -> None:
    import numpy as np

    from edgewatch.models.networks import PcaResidual

    rng = np.random.default_rng(0)
    latent = rng.normal(size=(2_000, 2))
    readings = latent @ rng.normal(size=(2, 6)) + 0.05 * rng.normal(size=(2_000, 6))
    model = PcaResidual(6).fit(torch.from_numpy(readings.astype(np.float32)))
    assert model.basis.shape == (6, 2)  # two latent factors explain 95%
    _, _, vt = np.linalg.svd(readings - readings.mean(axis=0), full_matrices=False)
    basis = vt[:2].T
    windows = rng.normal(size=(4, 10, 6)).astype(np.float32)
    residual = windows - windows @ basis @ basis.T
    want = (residual**2).sum(axis=2).mean(axis=1)
    got = model(torch.from_numpy(windows)).detach().numpy().reshape(-1)
    np.testing.assert_allclose(got, want, rtol=1e-4)


@pytest.mark.parametrize("name", ["edge_cnn_lstm_ae", "lstm_ae", "pca"])
def test_models_of_normal_windows_score_one_number_per_window(name: str) -> None:
    out = build(name, 3).eval()(torch.randn(5, 10, 3))
    assert out.shape == (5, 1)
    assert bool((out >= 0).all())


def test_pca_needs_two_channels() -> None:
    with pytest.raises(ConfigError, match="pca needs at least 2 channels"):
        build("pca", 1)
