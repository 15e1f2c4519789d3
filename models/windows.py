"""Windows and leak-free splits for training and evaluation.

A window is ``seq_len`` consecutive readings of one asset; its label is its last reading's, so a
model decides about the newest reading from the ones before it, as the stream does. Windows never
cross an asset or a split boundary. Scaling statistics come from the training split only:

- ``per_asset`` (simulated): each asset is scaled by the mean and sd of its own training segment
  (levels differ between assets by more than an offset anomaly);
- ``global`` (FD001): one mean and sd per channel over the training units (scaling each engine by
  itself would erase the degradation we want to detect).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from edgewatch.errors import ConfigError
from edgewatch.producers.cmapss import CHANNELS as FD001_CHANNELS
from edgewatch.producers.cmapss import load_fd001
from edgewatch.producers.simulated import (
    CHANNEL,
    SPLIT_FRACTIONS,
    FleetData,
    FleetSpec,
    simulate_fleet,
    split_bounds,
)

__all__ = [
    "Scaling",
    "Segment",
    "Splits",
    "WindowSet",
    "fd001_splits",
    "fit_scaling",
    "fleet_segments",
    "simulated_splits",
    "window",
]

ScaleMode = Literal["per_asset", "global"]
Target = Literal["label", "health"]
#: FD001 health: RUL is capped here (engines early in life are all equally healthy).
HEALTH_CAP = 125


@dataclass(frozen=True, slots=True)
class Segment:
    """Consecutive readings of one asset: values (n, channels) and labels (n,)."""

    asset: str
    values: np.ndarray
    labels: np.ndarray
    #: (n,) float: what a model is trained to output, when not the label (FD001's health).
    target: np.ndarray | None = None


@dataclass(frozen=True, slots=True)
class WindowSet:
    x: np.ndarray  # (windows, seq_len, channels) float32
    y: np.ndarray  # (windows,) int64, label of the last reading
    #: (windows,) int64: the segment (unit, asset) each window comes from, in order; empty when
    #: not known. A segment's windows are contiguous and in time order.
    group: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    #: (windows,) float32: the training target when it is not ``y`` (FD001's health); empty
    #: otherwise. Thresholds and metrics always read ``y``.
    target: np.ndarray = field(default_factory=lambda: np.empty(0, np.float32))

    def __len__(self) -> int:
        return int(self.y.size)


@dataclass(frozen=True, slots=True)
class Scaling:
    mode: ScaleMode
    mean: np.ndarray  # (channels,) over all training readings
    std: np.ndarray
    assets: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def stats(self, asset: str) -> tuple[np.ndarray, np.ndarray]:
        if self.mode == "per_asset" and asset in self.assets:
            return self.assets[asset]
        return self.mean, self.std

    def to_card(self) -> dict[str, object]:
        return {
            "mode": self.mode,
            "mean": self.mean.tolist(),
            "std": self.std.tolist(),
            "assets": {
                a: {"mean": m.tolist(), "std": s.tolist()} for a, (m, s) in self.assets.items()
            },
        }


def _moments(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    std = values.std(axis=0)
    return values.mean(axis=0), np.where(std > 1e-12, std, 1.0)


def fit_scaling(train: list[Segment], mode: ScaleMode) -> Scaling:
    mean, std = _moments(np.concatenate([s.values for s in train]))
    assets = {s.asset: _moments(s.values) for s in train} if mode == "per_asset" else {}
    return Scaling(mode, mean, std, assets)


def window(
    segments: list[Segment], scaling: Scaling, seq_len: int, pad_start: bool = False
) -> WindowSet:
    """Every window of ``seq_len`` readings inside each segment, scaled. With ``pad_start`` each
    segment is preceded by copies of its first reading, so every reading ends a window (as a
    stream that repeats an asset's first reading until it has seen ``seq_len``)."""
    xs, ys, groups, targets = [], [], [], []
    for number, seg in enumerate(segments):
        values, labels, target = seg.values, seg.labels, seg.target
        if len(values) + (seq_len - 1 if pad_start else 0) < seq_len:
            continue
        if pad_start:
            values = np.concatenate([np.repeat(values[:1], seq_len - 1, axis=0), values])
        mean, std = scaling.stats(seg.asset)
        scaled = ((values - mean) / std).astype(np.float32)
        xs.append(sliding_window_view(scaled, seq_len, axis=0).transpose(0, 2, 1))
        ys.append(labels[-len(xs[-1]) :])
        groups.append(np.full(len(ys[-1]), number, np.int64))
        if target is not None:
            targets.append(target[-len(xs[-1]) :].astype(np.float32))
    channels = segments[0].values.shape[1] if segments else 1
    if not xs:
        return WindowSet(np.empty((0, seq_len, channels), np.float32), np.empty(0, np.int64))
    return WindowSet(
        np.ascontiguousarray(np.concatenate(xs)),
        np.concatenate(ys).astype(np.int64),
        np.concatenate(groups),
        np.concatenate(targets) if len(targets) == len(xs) else np.empty(0, np.float32),
    )


@dataclass(frozen=True, slots=True)
class Splits:
    dataset: str
    channels: list[str]
    seq_len: int
    scaling: Scaling
    train: WindowSet
    val: WindowSet
    test: WindowSet
    description: Mapping[str, object]
    segments: Mapping[str, list[Segment]] = field(default_factory=dict)  # per split, in order
    pad_start: bool = False  # every reading ends a window (the stream pads the same way)
    fleet: FleetData | None = None  # simulated: the generated fleet, for the oracle


def _assemble(
    dataset: str,
    channels: list[str],
    seq_len: int,
    parts: dict[str, list[Segment]],
    mode: ScaleMode,
    description: Mapping[str, object],
    pad_start: bool = False,
    fleet: FleetData | None = None,
) -> Splits:
    """Scaling fitted on the train segments, then every split's windows."""
    scaling = fit_scaling(parts["train"], mode)
    sets = {name: window(segs, scaling, seq_len, pad_start) for name, segs in parts.items()}
    return Splits(
        dataset, channels, seq_len, scaling, sets["train"], sets["val"], sets["test"],
        description=description, segments=parts, pad_start=pad_start, fleet=fleet,
    )  # fmt: skip


def _check(seq_len: int) -> None:
    if not 2 <= seq_len <= 1_000:
        raise ConfigError.invalid("seq_len", "must be in [2, 1000]", seq_len)


def fleet_segments(
    fleet: FleetData, series: np.ndarray, fractions: tuple[float, float] = SPLIT_FRACTIONS
) -> dict[str, list[Segment]]:
    """``series`` (assets, points: the readings, or anything aligned with them) cut by time
    into each asset's train, validation and test segments, labelled like the fleet."""
    parts: dict[str, list[Segment]] = {"train": [], "val": [], "test": []}
    bounds = split_bounds(fleet.spec.points, fractions)
    for a, asset in enumerate(fleet.asset_ids):
        for name, (lo, hi) in bounds.items():
            parts[name].append(Segment(asset, series[a, lo:hi, None], fleet.labels[a, lo:hi]))
    return parts


def simulated_splits(
    seq_len: int = 10,
    spec: FleetSpec | None = None,
    fractions: tuple[float, float] = SPLIT_FRACTIONS,
) -> Splits:
    """Each asset's series cut by time: first 70% train, next 15% validation, the rest test."""
    _check(seq_len)
    fleet = simulate_fleet(spec or FleetSpec())
    parts = fleet_segments(fleet, fleet.values, fractions)
    description = {
        "generator": "edgewatch.producers.simulated",
        "seed": fleet.spec.seed,
        "points": fleet.spec.points,
        "assets": fleet.spec.assets,
        "split": "by time per asset 70/15/15",
    }
    return _assemble("simulated", [CHANNEL], seq_len, parts, "per_asset", description, fleet=fleet)


def fd001_splits(
    folder: Path,
    seq_len: int = 10,
    val_fraction: float = 0.2,
    seed: int = 42,
    pad_start: bool = False,
    channels: list[str] | None = None,
    target: Target = "label",
) -> Splits:
    """Train units split by unit into train/validation (seeded); the official test set is test.

    ``channels`` (default: all of `FD001_CHANNELS`) picks the model's inputs. ``target``
    "health" trains towards 1 - min(RUL, 125) / 125 (the usual piecewise-linear RUL, scaled)
    instead of the 0/1 label: every cycle then says how far the engine has degraded, not only
    which side of RUL 30 it is on. Labels, thresholds and metrics stay RUL <= 30."""
    _check(seq_len)
    names = list(FD001_CHANNELS) if channels is None else list(channels)
    unknown = sorted(set(names) - set(FD001_CHANNELS))
    if unknown or not names:
        raise ConfigError.invalid(
            "channels", f"must be FD001 channels ({', '.join(FD001_CHANNELS)})", unknown or names
        )
    if target not in ("label", "health"):
        raise ConfigError.invalid("target", "must be 'label' or 'health'", target)
    train_frame = load_fd001(folder, "train")
    units = np.sort(train_frame["unit"].unique())
    rng = np.random.default_rng(seed)
    val_units = set(
        rng.choice(units, size=max(1, round(val_fraction * units.size)), replace=False).tolist()
    )

    def segments(frame: object, split: str, keep: set[int] | None) -> list[Segment]:
        out = []
        for unit, group in frame.groupby("unit"):  # type: ignore[attr-defined]
            if keep is None or int(unit) in keep:
                rul = group["rul"].to_numpy(np.float64)
                out.append(
                    Segment(
                        f"fd001-{split}-{int(unit):03d}",
                        group[names].to_numpy(np.float64),
                        group["label"].to_numpy(np.int64),
                        1.0 - np.minimum(rul, HEALTH_CAP) / HEALTH_CAP
                        if target == "health"
                        else None,
                    )
                )
        return out

    train_units = set(units.tolist()) - val_units
    parts = {
        "train": segments(train_frame, "train", train_units),
        "val": segments(train_frame, "train", val_units),
        "test": segments(load_fd001(folder, "test"), "test", None),
    }
    description = {
        "source": "NASA C-MAPSS FD001",
        "label": "RUL <= 30",
        "val_units": sorted(val_units),
        **({"pad_start": True} if pad_start else {}),
        **(
            {"target": f"health = 1 - min(RUL, {HEALTH_CAP}) / {HEALTH_CAP}"}
            if target == "health"
            else {}
        ),
        "split": f"train units {1 - val_fraction:.0%}/{val_fraction:.0%} by unit (seed {seed}); "
        "official test set",
    }
    return _assemble("fd001", names, seq_len, parts, "global", description, pad_start)
