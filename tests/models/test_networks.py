from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

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
        build("transformer", 1)
