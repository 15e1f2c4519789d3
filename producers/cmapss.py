"""NASA C-MAPSS turbofan data, sub-set FD001: each engine unit is an asset.

Files (space separated, no header, trailing spaces): ``train_FD001.txt`` and ``test_FD001.txt``
with 26 columns (unit, cycle, 3 operational settings, sensors s1..s21) and ``RUL_FD001.txt``, the
true remaining useful life of each test unit at its last cycle.

Labels follow the usual protocol (and the Edge-1DCNN-LSTM paper's): a cycle is anomalous when its
remaining useful life is at most ``rul_threshold`` (30). Train RUL = last cycle of the unit -
cycle; test RUL = RUL_FD001 of the unit + (last test cycle - cycle). Cycles become event time at
``cycle_ms`` per cycle, every unit starting at ``start_ms`` (the fleet runs side by side).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from edgewatch.errors import ConfigError, DataError
from edgewatch.records import SensorRecord

__all__ = ["CHANNELS", "FD001", "SENSORS", "SETTINGS", "load_fd001"]

SETTINGS = ["setting1", "setting2", "setting3"]
ALL_SENSORS = [f"s{i}" for i in range(1, 22)]
CONSTANT_SENSORS = ["s1", "s5", "s6", "s10", "s16", "s18", "s19"]  # no information in FD001
SENSORS = [s for s in ALL_SENSORS if s not in CONSTANT_SENSORS]
CHANNELS = SETTINGS + SENSORS
_COLUMNS = ["unit", "cycle", *SETTINGS, *ALL_SENSORS]
Split = Literal["train", "test"]


def _read_table(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(
            f"{path} does not exist; point --path at the folder holding the C-MAPSS files, "
            "or run `edgewatch datasets fetch fd001`"
        )
    frame = pd.read_csv(path, sep=r"\s+", header=None, engine="c")
    if frame.shape[1] != len(_COLUMNS):
        raise DataError(
            f"{path}: expected {len(_COLUMNS)} space-separated columns (unit, cycle, 3 settings, "
            f"21 sensors), found {frame.shape[1]} in the first row"
        )
    frame.columns = _COLUMNS
    frame[["unit", "cycle"]] = frame[["unit", "cycle"]].astype(np.int64)
    return frame


def load_fd001(folder: Path, split: Split = "train", rul_threshold: int = 30) -> pd.DataFrame:
    """The split as a frame: unit, cycle, the 17 channels, ``rul`` and ``label`` (0/1)."""
    if split not in ("train", "test"):
        raise ConfigError.invalid("split", "must be 'train' or 'test'", split)
    frame = _read_table(folder / f"{split}_FD001.txt")
    last = frame.groupby("unit")["cycle"].transform("max")
    rul = last - frame["cycle"]
    if split == "test":
        path = folder / "RUL_FD001.txt"
        if not path.is_file():
            raise DataError(f"{path} does not exist; the test split needs it for its labels")
        final = pd.read_csv(path, header=None, sep=r"\s+").iloc[:, 0].to_numpy(np.int64)
        units = frame["unit"].to_numpy()
        if units.max() > final.size:
            raise DataError(f"{path} has {final.size} lines; the test split has unit {units.max()}")
        rul = rul + final[units - 1]
    out = frame[["unit", "cycle", *CHANNELS]].copy()
    out["rul"] = rul.astype(np.int64)
    out["label"] = (out["rul"] <= rul_threshold).astype(np.int64)
    return out


@dataclass(frozen=True, slots=True)
class FD001:
    """A replayable FD001 split: records in event-time order, units interleaved by cycle."""

    folder: Path
    split: Split = "train"
    cycle_ms: int = 1_000
    start_ms: int = 1_767_225_600_000  # 2026-01-01T00:00:00Z
    rul_threshold: int = 30

    def __post_init__(self) -> None:
        if self.cycle_ms < 1:
            raise ConfigError.invalid("cycle_ms", "must be at least 1", self.cycle_ms)

    def frame(self) -> pd.DataFrame:
        return load_fd001(self.folder, self.split, self.rul_threshold)

    @staticmethod
    def asset_id(split: str, unit: int) -> str:
        return f"fd001-{split}-{unit:03d}"

    def records(self) -> Iterator[SensorRecord]:
        frame = self.frame().sort_values(["cycle", "unit"], kind="stable")
        values = frame[CHANNELS].to_numpy(np.float64).tolist()
        units = frame["unit"].tolist()
        cycles = frame["cycle"].tolist()
        labels = frame["label"].tolist()
        source = f"fd001-{self.split}"
        for unit, cycle, row, label in zip(units, cycles, values, labels, strict=True):
            yield SensorRecord(
                asset=self.asset_id(self.split, unit),
                ts=self.start_ms + (cycle - 1) * self.cycle_ms,
                seq=cycle - 1,
                values=dict(zip(CHANNELS, row, strict=True)),
                source=source,
                label=label,
            )
