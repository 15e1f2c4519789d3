"""The networks: the proposed Edge-1DCNN-LSTM and the paper's comparison set.

Every classifier maps a window (batch, seq_len, channels) to the probability (batch, 1) that its
last reading is anomalous. `LstmAutoencoder` instead reconstructs the window (trained on normal
windows only; the reconstruction error is the score). Randomness comes from the caller's seed.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from edgewatch.errors import ConfigError
from edgewatch.models.seeds import AmCnnLstm, Tcn, TinyTransformer

__all__ = [
    "AUTOENCODERS",
    "CLASSIFIERS",
    "CnnLstm",
    "CnnNet",
    "EdgeAutoencoder",
    "EdgeCnnLstm",
    "LstmAutoencoder",
    "LstmNet",
    "PcaResidual",
    "ReconstructionError",
    "build",
    "count_parameters",
]


class EdgeCnnLstm(nn.Module):
    """Ours: Conv1d(C,16,3,p1) > BN > ReLU > MaxPool(2) > LSTM(16,32,2 layers, dropout 0.2) >
    last hidden state > Dropout(0.2) > Linear(32,1) > sigmoid."""

    def __init__(self, channels: int, conv: int = 16, hidden: int = 32, layers: int = 2) -> None:
        super().__init__()
        self.conv = nn.Conv1d(channels, conv, kernel_size=3, padding=1)
        self.bn = nn.BatchNorm1d(conv)
        self.pool = nn.MaxPool1d(2)
        self.lstm = nn.LSTM(
            conv, hidden, layers, batch_first=True, dropout=0.2 if layers > 1 else 0.0
        )
        self.drop = nn.Dropout(0.2)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.pool(torch.relu(self.bn(self.conv(x.transpose(1, 2))))).transpose(1, 2)
        out, _ = self.lstm(h)
        return torch.sigmoid(self.head(self.drop(out[:, -1])))


class CnnLstm(nn.Module):
    """The standard 1DCNN-LSTM (two conv layers, wider LSTM); `light` is the lightweight one."""

    def __init__(self, channels: int, light: bool = False) -> None:
        super().__init__()
        width, hidden = (8, 16) if light else (64, 64)
        layers: list[nn.Module] = [nn.Conv1d(channels, width, 3, padding=1), nn.ReLU()]
        if not light:
            layers += [nn.Conv1d(width, width, 3, padding=1), nn.ReLU()]
        self.features = nn.Sequential(*layers, nn.MaxPool1d(2))
        self.lstm = nn.LSTM(width, hidden, 1 if light else 2, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(self.features(x.transpose(1, 2)).transpose(1, 2))
        return torch.sigmoid(self.head(out[:, -1]))


class LstmNet(nn.Module):
    """Pure LSTM; with hidden=8 and one layer it is the collaborative framework's sentinel."""

    def __init__(self, channels: int, hidden: int = 64, layers: int = 2) -> None:
        super().__init__()
        self.lstm = nn.LSTM(channels, hidden, layers, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return torch.sigmoid(self.head(out[:, -1]))


class CnnNet(nn.Module):
    """Pure 1D-CNN: two conv layers, global average pooling, a linear head."""

    def __init__(self, channels: int, width: int = 32) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv1d(channels, width, 3, padding=1),
            nn.ReLU(),
            nn.Conv1d(width, width, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool1d(1),
        )
        self.head = nn.Linear(width, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.head(self.features(x.transpose(1, 2)).flatten(1)))


class LstmAutoencoder(nn.Module):
    """Encodes the window into the last hidden state and decodes it back, reading by reading."""

    def __init__(self, channels: int, hidden: int = 32) -> None:
        super().__init__()
        self.encoder = nn.LSTM(channels, hidden, batch_first=True)
        self.decoder = nn.LSTM(hidden, hidden, batch_first=True)
        self.out = nn.Linear(hidden, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, (h, _) = self.encoder(x)
        repeated = h[-1].unsqueeze(1).expand(-1, x.shape[1], -1)
        decoded, _ = self.decoder(repeated)
        return torch.as_tensor(self.out(decoded))


class EdgeAutoencoder(nn.Module):
    """The Edge-1DCNN-LSTM's front (a 1-D convolution over time, then an LSTM) as an encoder,
    an LSTM decoder reading by reading: a model of normal windows for data without labels."""

    def __init__(self, channels: int, conv: int = 16, hidden: int = 32) -> None:
        super().__init__()
        self.conv = nn.Conv1d(channels, conv, kernel_size=3, padding=1)
        self.encoder = nn.LSTM(conv, hidden, batch_first=True)
        self.decoder = nn.LSTM(hidden, hidden, batch_first=True)
        self.out = nn.Linear(hidden, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = torch.relu(self.conv(x.transpose(1, 2))).transpose(1, 2)
        _, (h, _) = self.encoder(features)
        repeated = h[-1].unsqueeze(1).expand(-1, x.shape[1], -1)
        decoded, _ = self.decoder(repeated)
        return torch.as_tensor(self.out(decoded))


class PcaResidual(nn.Module):
    """A linear model of normal readings (principal components of the training readings): the
    score of a window is the mean squared distance of its readings from that subspace (the Q
    or SPE statistic of multivariate process monitoring), so a broken relation between channels
    scores high even when every channel stays in its range. Fitted in closed form (`fit`)."""

    def __init__(self, channels: int, components: int = 1) -> None:
        super().__init__()
        self.register_buffer("basis", torch.zeros(channels, components))

    def fit(self, x: torch.Tensor, variance: float = 0.95) -> PcaResidual:
        """Keep the fewest components that explain ``variance`` of the (scaled) readings ``x``
        of shape (n, channels), and at most ``channels - 1``, so a residual remains."""
        _, s, vt = torch.linalg.svd(x - x.mean(dim=0), full_matrices=False)
        explained = torch.cumsum(s**2, 0) / torch.sum(s**2).clamp_min(1e-12)
        k = int(torch.searchsorted(explained, torch.tensor(variance))) + 1
        k = max(1, min(k, x.shape[1] - 1))
        self.basis = vt[:k].T.contiguous()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        basis = torch.as_tensor(self.basis)
        residual = x - (x @ basis) @ basis.T
        return (residual**2).sum(dim=2).mean(dim=1, keepdim=True)


#: name -> constructor taking the channel count (models of normal windows, unsupervised).
AUTOENCODERS: dict[str, Callable[[int], nn.Module]] = {
    "edge_cnn_lstm_ae": EdgeAutoencoder,
    "lstm_ae": LstmAutoencoder,
}


class ReconstructionError(nn.Module):
    """Wraps an autoencoder so it scores like a classifier: one number per window, the mean
    squared reconstruction error (higher = more anomalous; not a probability)."""

    def __init__(self, autoencoder: nn.Module) -> None:
        super().__init__()
        self.autoencoder = autoencoder

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        error = (torch.as_tensor(self.autoencoder(x)) - x) ** 2
        return error.mean(dim=(1, 2)).unsqueeze(1)


#: name -> constructor taking the channel count (the classifiers of the comparison table).
CLASSIFIERS: dict[str, Callable[[int], nn.Module]] = {
    "edge_cnn_lstm": EdgeCnnLstm,
    "lstm": LstmNet,
    "cnn": CnnNet,
    "cnn_lstm": CnnLstm,
    "light_cnn_lstm": lambda c: CnnLstm(c, light=True),
    "sentinel_lstm": lambda c: LstmNet(c, hidden=8, layers=1),
    "amcnn_lstm": AmCnnLstm,
    "tcn": Tcn,
    "transformer": TinyTransformer,
}


def build(name: str, channels: int) -> nn.Module:
    """A classifier, or an autoencoder wrapped to score its reconstruction error."""
    if channels < 1:
        raise ConfigError.invalid("channels", "must be at least 1", channels)
    if name in AUTOENCODERS:
        return ReconstructionError(AUTOENCODERS[name](channels))
    if name == "pca":
        if channels < 2:
            raise ConfigError.invalid("model", "pca needs at least 2 channels", name)
        return PcaResidual(channels)
    if name not in CLASSIFIERS:
        known = ", ".join([*CLASSIFIERS, *AUTOENCODERS, "pca"])
        raise ConfigError.invalid("model", f"must be one of: {known}", name)
    return CLASSIFIERS[name](channels)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
