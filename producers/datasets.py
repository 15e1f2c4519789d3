"""The data sets `edgewatch replay` knows, by name, and where they live on disk.

Each opens as a `Dataset`: ``records()`` in event-time order and ``total()`` (record count, or
None when it would cost a full read). Files live under the data folder (``EDGEWATCH_DATA_DIR``,
default ``$XDG_DATA_HOME/edgewatch`` or ``~/.local/share/edgewatch``) in the layout
``cmapss/train_FD001.txt`` ... and ``metropt3/MetroPT3(AirCompressor).csv``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from edgewatch.errors import ConfigError
from edgewatch.producers.cmapss import FD001, Split
from edgewatch.producers.csvfile import open_csv
from edgewatch.producers.metropt import metropt
from edgewatch.producers.simulated import FleetSpec, SimSplit, simulate_fleet, split_bounds
from edgewatch.records import SensorRecord

__all__ = ["DATASETS", "Dataset", "default_data_dir", "open_dataset"]

DATASETS = ("simulated", "fd001", "metropt", "csv")
FOLDERS = {"fd001": "cmapss", "metropt": "metropt3"}


class Dataset(Protocol):
    def records(self) -> Iterator[SensorRecord]: ...
    def total(self) -> int | None: ...


def default_data_dir(environ: dict[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME/edgewatch``, else ``~/.local/share/edgewatch`` (entry points only)."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "edgewatch"


@dataclass(frozen=True, slots=True)
class _Simulated:
    spec: FleetSpec = field(default_factory=FleetSpec)
    split: SimSplit | None = None  # None: the whole series

    def records(self) -> Iterator[SensorRecord]:
        return simulate_fleet(self.spec).records(split=self.split)

    def total(self) -> int | None:
        if self.split is None:
            return self.spec.assets * self.spec.points
        lo, hi = split_bounds(self.spec.points)[self.split]
        return self.spec.assets * (hi - lo)


@dataclass(frozen=True, slots=True)
class _FD001:
    reader: FD001

    def records(self) -> Iterator[SensorRecord]:
        return self.reader.records()

    def total(self) -> int | None:
        return len(self.reader.frame())


def open_dataset(name: str, path: Path | None, data_dir: Path, **options: Any) -> Dataset:
    """Open ``name`` from ``path`` (a file or folder), or from its folder under ``data_dir``.

    Options: simulated ``split`` (train/val/test by time, as the models are trained) and the
    `FleetSpec` fields; fd001 ``split`` (train/test), ``cycle_ms``; metropt ``windows``; csv:
    the `CsvSource` fields.
    """
    options = {k: v for k, v in options.items() if v is not None}
    if name == "simulated":
        part = options.pop("split", None)
        if part not in (None, "train", "val", "test"):
            raise ConfigError.invalid("split", "must be train, val or test for simulated", part)
        return _Simulated(FleetSpec(**options), part)
    if name == "csv":
        if path is None:
            raise ConfigError("replay csv needs --path FILE or FOLDER")
        return open_csv(path, **options)
    if name not in FOLDERS:
        raise ConfigError.invalid("DATASET", f"must be one of: {', '.join(DATASETS)}", name)
    folder = path or data_dir / FOLDERS[name]
    if name == "fd001":
        split: Split = options.pop("split", "train")
        return _FD001(FD001(folder, split, **options))
    return metropt(folder, **options)
