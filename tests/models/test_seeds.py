from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from edgewatch.models.export import export_onnx, quantize_int8  # noqa: E402
from edgewatch.models.seeds import AmCnnLstm, Tcn, TinyTransformer  # noqa: E402
from edgewatch.models.train import predict  # noqa: E402

SEEDS = {"amcnn_lstm": AmCnnLstm, "tcn": Tcn, "transformer": TinyTransformer}


@pytest.mark.parametrize("name", SEEDS)
def test_int8_onnx_scores_like_torch(name: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = SEEDS[name](4).eval()
    x = np.random.default_rng(0).normal(size=(64, 20, 4)).astype(np.float32)
    fp32 = export_onnx(model, tmp_path / "fp32.onnx", 20, 4)
    int8 = quantize_int8(fp32, tmp_path / "int8.onnx", x)
    import onnxruntime as ort

    want = predict(model, x)
    for path, tolerance in ((fp32, 1e-5), (int8, 0.02)):
        got = ort.InferenceSession(str(path)).run(None, {"window": x})[0].reshape(-1)
        np.testing.assert_allclose(got, want, atol=tolerance)
    assert int8.stat().st_size < fp32.stat().st_size


def test_tcn_is_causal() -> None:
    """A step's features never depend on later readings (left padding only)."""
    torch.manual_seed(0)
    blocks = Tcn(2).eval().blocks
    x = torch.randn(1, 2, 30)
    later = x.clone()
    later[:, :, 20:] += 5.0
    with torch.no_grad():
        np.testing.assert_allclose(blocks(x)[:, :, :20], blocks(later)[:, :, :20], atol=1e-6)
        assert not torch.allclose(blocks(x)[:, :, 20:], blocks(later)[:, :, 20:])


def test_transformer_attends_across_the_window_and_knows_positions() -> None:
    """Reversing the window changes the score (positions are encoded; mean pooling alone is
    order-blind)."""
    torch.manual_seed(0)
    model = TinyTransformer(3).eval()
    x = torch.randn(2, 12, 3)
    with torch.no_grad():
        assert not torch.allclose(model(x), model(x.flip(1)))
