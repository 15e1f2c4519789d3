"""Model artifacts: an ``.onnx`` file plus a JSON card, and the torch-free runtime loader.

The card names the inputs (channels, seq_len), the scaling statistics, the decision threshold,
what the model was trained on and how it scored, and the sha256 of the ``.onnx``. Loading checks
the sha256 before ONNX Runtime sees a byte; no pickle is ever loaded. This module imports
neither torch nor the training code: it is the streaming pipeline's scoring path.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import orjson

from edgewatch.errors import ConfigError, DataError

__all__ = [
    "CARD_VERSION",
    "SHIPPED",
    "SHIPPED_MODELS",
    "OnnxModel",
    "load_card",
    "load_model",
    "open_session",
    "sha256_of",
    "shipped_card",
    "shipped_sentinel",
    "write_card",
]

CARD_VERSION = 1
#: The artifacts shipped with the package, built by `edgewatch train --dataset simulated|fd001`.
SHIPPED = Path(__file__).resolve().parent / "artifacts"
_REQUIRED = ("name", "onnx", "sha256", "channels", "seq_len", "scaling", "threshold")


#: The network each shipped artifact is (`models compare` chose it; README, "Models").
SHIPPED_MODELS = {"simulated": "edge_cnn_lstm", "fd001": "tcn"}


def shipped_card(dataset: str) -> Path:
    """The card of the shipped INT8 model for ``dataset`` (simulated or fd001)."""
    return SHIPPED / f"{dataset}-{SHIPPED_MODELS.get(dataset, 'edge_cnn_lstm')}-int8.json"


def shipped_sentinel(card: dict[str, Any]) -> Path | None:
    """The shipped sentinel of a shipped model's card (None for any other card)."""
    dataset = str(card.get("dataset", ""))
    if card.get("name") != shipped_card(dataset).stem:
        return None
    return SHIPPED / f"{dataset}-sentinel_lstm-int8.json"


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_card(path: Path, card: dict[str, Any]) -> Path:
    path.write_bytes(
        orjson.dumps(
            {"card_version": CARD_VERSION, **card},
            option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS,
        )
        + b"\n"
    )
    return path


def load_card(path: Path) -> dict[str, Any]:
    if not path.is_file():
        shipped = ", ".join(sorted(p.name.split("-")[0] for p in SHIPPED.glob("*.json")))
        raise ConfigError(
            f"model card {path} does not exist; pass a card (.json) that `edgewatch train` "
            f"wrote, or a shipped model: {shipped}"
        )
    try:
        card = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise DataError.at(path, f"not valid JSON ({exc})") from exc
    missing = [k for k in _REQUIRED if k not in card]
    if missing:
        raise DataError.at(path, f"model card lacks {missing}")
    return dict(card)


@dataclass(frozen=True)
class OnnxModel:
    """A loaded artifact: ``score(windows)`` gives the probability that each window's last
    reading is anomalous; ``card`` is the JSON card."""

    card: dict[str, Any]
    session: ort.InferenceSession

    @property
    def seq_len(self) -> int:
        return int(self.card["seq_len"])

    @property
    def channels(self) -> list[str]:
        return list(self.card["channels"])

    @property
    def threshold(self) -> float:
        return float(self.card["threshold"])

    def score(self, windows: np.ndarray) -> np.ndarray:
        expected = (self.seq_len, len(self.channels))
        if windows.ndim != 3 or windows.shape[1:] != expected:
            raise ConfigError.invalid(
                "windows", f"must have shape (batch, {expected[0]}, {expected[1]})", windows.shape
            )
        out = self.session.run(
            None, {self.session.get_inputs()[0].name: windows.astype(np.float32, copy=False)}
        )
        return np.asarray(out[0], dtype=np.float64).reshape(-1)


def load_model(card_path: Path, threads: int = 1) -> OnnxModel:
    """Load an artifact by its card; `DataError` if the .onnx does not match the card's sha256."""
    card = load_card(card_path)
    onnx_path = card_path.parent / card["onnx"]
    if not onnx_path.is_file():
        raise DataError.at(card_path, f"names {card['onnx']!r}, which is not beside it")
    digest = sha256_of(onnx_path)
    if digest != card["sha256"]:
        raise DataError.at(
            onnx_path,
            f"sha256 {digest} does not match the card's {card['sha256']}; "
            "the artifact is corrupt or was replaced",
        )
    return OnnxModel(card, open_session(onnx_path, threads))


def open_session(onnx_path: Path, threads: int = 1) -> ort.InferenceSession:
    """The one way sessions are built (training-time evaluation included), so evaluation and
    serving agree on the thread count, which can change the float arithmetic's order."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
