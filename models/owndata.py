"""Windows and splits from a user's own records (a CSV file or folder, MetroPT-3), for
``edgewatch train --dataset csv|metropt``.

Each asset's records become one time-ordered matrix of its channels (a missing value carries
the channel's last one forward; before the first, its first). The **training part** is each
asset's leading stretch, up to ``train_until`` (event time) or else its first ``train_share`` of
records; the rest is the test part. Inside the training part the last ``val_share`` is the
validation split, so no window of validation or test overlaps training.

Supervised when the training part holds labelled anomalies (a 0/1 label or label windows):
windows are labelled by their last reading, as the shipped models are. Otherwise (no labels, or
none in the leading part) unsupervised: only windows with no anomalous reading train and
validate, and the model learns what normal looks like.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from edgewatch.errors import ConfigError, DataError
from edgewatch.models.windows import Segment, Splits, WindowSet, fit_scaling, window
from edgewatch.records import SensorRecord

__all__ = ["Mode", "own_splits"]

Mode = Literal["auto", "supervised", "unsupervised"]
#: Below this share of anomalous training windows, `auto` trains unsupervised.
MIN_POSITIVE_SHARE = 0.01


@dataclass
class _Asset:
    ts: list[int]
    rows: list[dict[str, float]]
    labels: list[int]


def _collect(records: Iterable[SensorRecord]) -> tuple[dict[str, _Asset], list[str]]:
    assets: dict[str, _Asset] = {}
    channels: dict[str, None] = {}  # in order of first appearance
    for r in records:
        a = assets.get(r.asset)
        if a is None:
            a = assets[r.asset] = _Asset([], [], [])
        a.ts.append(r.ts)
        a.rows.append(r.values)
        a.labels.append(r.label or 0)
        for c in r.values:
            channels.setdefault(c)
    return assets, list(channels)


def _matrix(a: _Asset, channels: Sequence[str]) -> np.ndarray:
    frame = pd.DataFrame.from_records(a.rows, columns=list(channels)).ffill().bfill()
    return frame.to_numpy(dtype=np.float64, na_value=0.0)


def _normal_only(data: WindowSet) -> WindowSet:
    return WindowSet(data.x[data.y == 0], data.y[data.y == 0])


def own_splits(
    records: Iterable[SensorRecord],
    dataset: str,
    seq_len: int = 10,
    *,
    train_until: int | None = None,
    train_share: float = 0.4,
    val_share: float = 0.2,
    channels: Sequence[str] | None = None,
    mode: Mode = "auto",
) -> tuple[Splits, Literal["supervised", "unsupervised"]]:
    """The splits, and whether they train a classifier or a model of normal behaviour."""
    if not 0.0 < train_share < 1.0 or not 0.0 < val_share < 0.5:
        raise ConfigError.invalid(
            "train_share/val_share", "must be in (0, 1) and (0, 0.5)", (train_share, val_share)
        )
    assets, seen = _collect(records)
    if not assets:
        raise DataError(f"{dataset}: no records to train on")
    names = list(channels) if channels else seen
    if missing := [c for c in names if c not in seen]:
        raise ConfigError.invalid("--channels", f"not in the data: {', '.join(missing)}", names)
    parts: dict[str, list[Segment]] = {"train": [], "val": [], "test": []}
    anomalous_labels = 0  # readings labelled anomalous in the training part (label 1)
    for asset, a in assets.items():
        values, labels = _matrix(a, names), np.asarray(a.labels, dtype=np.int64)
        n = len(values)
        cut = (
            int(np.searchsorted(np.asarray(a.ts), train_until, side="right"))
            if train_until is not None
            else int(n * train_share)
        )
        val_at = int(cut * (1.0 - val_share))
        if val_at < seq_len or cut - val_at < seq_len:
            continue  # too short to train on; its test part still counts below
        anomalous_labels += int(labels[:cut].sum())
        parts["train"].append(Segment(asset, values[:val_at], labels[:val_at]))
        parts["val"].append(Segment(asset, values[val_at:cut], labels[val_at:cut]))
        parts["test"].append(Segment(asset, values[cut:], labels[cut:]))
    if not parts["train"]:
        raise DataError(
            f"{dataset}: no asset has enough readings before the cut to train on (each needs "
            f"{seq_len} for training and {seq_len} for validation); set --train-until later or "
            "--train-share higher"
        )
    scaling = fit_scaling(parts["train"], "global")
    train, val, test = (window(parts[k], scaling, seq_len) for k in ("train", "val", "test"))
    share = anomalous_labels / max(sum(len(s.values) for s in parts["train"] + parts["val"]), 1)
    chosen = mode if mode != "auto" else (
        "supervised" if share >= MIN_POSITIVE_SHARE else "unsupervised"
    )  # fmt: skip
    if chosen == "supervised" and (not train.y.any() or not val.y.any()):
        raise DataError(
            f"{dataset}: supervised training needs labelled anomalies in both the training and "
            "the validation part of each asset's leading stretch; found none in one of them. "
            "Use --mode unsupervised, or move the cut (--train-until / --train-share)"
        )
    if chosen == "unsupervised":
        train, val = _normal_only(train), _normal_only(val)
    description = {
        "assets": len(parts["train"]),
        "mode": chosen,
        "cut": f"ts <= {train_until}" if train_until is not None else f"first {train_share:.0%}",
        "validation": f"last {val_share:.0%} of the training part",
    }
    splits = Splits(dataset, names, seq_len, scaling, train, val, test, description, parts)
    return splits, chosen
