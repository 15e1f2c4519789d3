"""The seeds' remaining architectures: an attention-based multi-scale CNN-LSTM, a temporal
convolutional network and a small Transformer encoder.

Each maps a window (batch, seq_len, channels) to a score in (0, 1) for its last reading, like the
classifiers in `edgewatch.models.networks`, and exports to ONNX with static INT8 layers (plain
convolutions, matrix products, LSTMs; the attention is written out, not a fused kernel).
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["AmCnnLstm", "Tcn", "TinyTransformer"]


class AmCnnLstm(nn.Module):
    """AMCNN-LSTM: convolutions of widths 3 and 5 side by side (two time scales) > ReLU >
    LSTM(hidden) > attention over time (a learned weight per step, softmax) > Linear > sigmoid."""

    def __init__(self, channels: int, conv: int = 16, hidden: int = 32) -> None:
        super().__init__()
        self.narrow = nn.Conv1d(channels, conv, kernel_size=3, padding=1)
        self.wide = nn.Conv1d(channels, conv, kernel_size=5, padding=2)
        self.lstm = nn.LSTM(2 * conv, hidden, batch_first=True)
        self.attend = nn.Linear(hidden, 1)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = x.transpose(1, 2)
        features = torch.relu(torch.cat([self.narrow(t), self.wide(t)], dim=1)).transpose(1, 2)
        out, _ = self.lstm(features)
        weights = torch.softmax(self.attend(out), dim=1)  # (batch, seq_len, 1)
        return torch.sigmoid(self.head((weights * out).sum(dim=1)))


class _CausalBlock(nn.Module):
    """Two dilated causal convolutions with a residual connection: each convolution pads both
    ends and drops the right end's outputs, so no step sees its future (and the ONNX graph is a
    plain Conv and Slice)."""

    def __init__(self, inputs: int, width: int, dilation: int, kernel: int = 3) -> None:
        super().__init__()
        self.trim = (kernel - 1) * dilation
        self.first = nn.Conv1d(inputs, width, kernel, dilation=dilation, padding=self.trim)
        self.second = nn.Conv1d(width, width, kernel, dilation=dilation, padding=self.trim)
        self.skip = nn.Conv1d(inputs, width, 1) if inputs != width else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.first(x)[:, :, : -self.trim])
        h = torch.relu(self.second(h)[:, :, : -self.trim])
        return torch.relu(h + torch.as_tensor(self.skip(x)))


class Tcn(nn.Module):
    """TCN: causal blocks with dilations 1, 2, 4, 8 (a receptive field of 61 readings) > the
    last step's features > Linear > sigmoid."""

    def __init__(self, channels: int, width: int = 24, dilations: tuple[int, ...] = (1, 2, 4, 8)):
        super().__init__()
        blocks, inputs = [], channels
        for d in dilations:
            blocks.append(_CausalBlock(inputs, width, d))
            inputs = width
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(width, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.head(self.blocks(x.transpose(1, 2))[:, :, -1]))


class _EncoderLayer(nn.Module):
    """Pre-norm self-attention and feed-forward, each with a residual connection."""

    def __init__(self, width: int, heads: int, feedforward: int) -> None:
        super().__init__()
        self.heads, self.width = heads, width
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)
        self.ff = nn.Sequential(
            nn.Linear(width, feedforward), nn.ReLU(), nn.Linear(feedforward, width)
        )
        self.drop = nn.Dropout(0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, steps, _ = x.shape
        per_head = self.width // self.heads
        q, k, v = (
            self.qkv(self.norm1(x))
            .reshape(batch, steps, 3, self.heads, per_head)
            .permute(2, 0, 3, 1, 4)
        )
        attention = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(per_head), dim=-1)
        mixed = (attention @ v).transpose(1, 2).reshape(batch, steps, self.width)
        x = x + self.drop(self.out(mixed))
        return torch.as_tensor(x + self.drop(self.ff(self.norm2(x))))


class TinyTransformer(nn.Module):
    """A small Transformer encoder: Linear(C, width) + sinusoidal positions > 2 pre-norm layers
    (4 heads, feed-forward 2 x width) > LayerNorm > mean over time > Linear > sigmoid."""

    def __init__(self, channels: int, width: int = 32, heads: int = 4, layers: int = 2) -> None:
        super().__init__()
        self.width = width
        self.embed = nn.Linear(channels, width)
        self.layers = nn.Sequential(
            *(_EncoderLayer(width, heads, 2 * width) for _ in range(layers))
        )
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, 1)

    def _positions(self, steps: int) -> torch.Tensor:
        position = torch.arange(steps, dtype=torch.float32).unsqueeze(1)
        rate = torch.exp(
            torch.arange(0, self.width, 2, dtype=torch.float32) * (-math.log(1e4) / self.width)
        )
        angles = position * rate  # (steps, width / 2): sin and cos interleaved
        return torch.stack([torch.sin(angles), torch.cos(angles)], dim=2).reshape(steps, -1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm(self.layers(self.embed(x) + self._positions(x.shape[1])))
        return torch.sigmoid(self.head(h.mean(dim=1)))
