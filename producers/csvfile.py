"""Any CSV file as a stream of `SensorRecord`s, read in chunks with bounded memory.

- delimiter: sniffed from the first 64 KiB (``,`` ``;`` tab ``|``) unless given;
- timestamp: the column given, else the first named ts/timestamp/time/datetime/date (any case);
  ISO 8601 text (naive = UTC) or epoch seconds or milliseconds, detected from the first chunk
  unless ``timestamp_unit`` is given;
- values: the columns given, else every column whose cells are mostly numbers (in the first
  chunk) but the timestamp, asset and label ones, unnamed index columns, columns named like
  ground truth (label, anomaly, is_anomaly, outlier, target, fault, failure, ...) and
  ``ignore_columns``; a cell that is not a number is an error naming its line, an empty cell
  leaves that channel out of the record;
- asset: from a column, else a constant (default: the file name without extension);
- labels: a 0/1 column, or [start, end] windows from a JSON or CSV file, or none.

``seq`` counts the records of each asset in file order from 0. `CsvFolder` replays every CSV
under a folder, each file's asset named by its path relative to the folder, without extension
(so ``a/1.csv`` and ``b/1.csv`` stay two assets), merged in event-time order.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from edgewatch.errors import DataError
from edgewatch.producers.tables import (
    TimeUnit,
    cell,
    count_lines,
    detect_time_unit,
    in_windows,
    is_mostly_numeric,
    load_windows,
    numeric_block,
    sniff_delimiter,
    to_epoch_ms,
)
from edgewatch.records import SensorRecord

__all__ = ["CsvFolder", "CsvSource", "open_csv"]

_TIME_NAMES = ("ts", "timestamp", "time", "datetime", "date")
#: Column names that hold ground truth, never a sensor channel (compared lower-case, stripped).
LABEL_NAMES = frozenset(
    {"label", "labels", "anomaly", "anomalies", "is_anomaly", "anomalous", "outlier",
     "is_outlier", "target", "fault", "failure", "attack", "class", "y", "ground_truth"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class CsvSource:
    path: Path
    timestamp_column: str | None = None
    timestamp_unit: TimeUnit | None = None
    columns: tuple[str, ...] | None = None
    asset_column: str | None = None
    asset: str | None = None
    label_column: str | None = None
    windows: Path | None = None
    delimiter: str | None = None
    ignore_columns: tuple[str, ...] = ()
    source: str = "csv"
    chunk_rows: int = 50_000

    def total(self) -> int:
        """Records in the file (its lines less the header), counted without parsing."""
        return max(count_lines(self.path) - 1, 0)

    def records(self) -> Iterator[SensorRecord]:
        if not self.path.is_file():
            raise DataError(f"{self.path} does not exist or is not a file")
        windows = load_windows(self.windows) if self.windows is not None else None
        sep = self.delimiter or sniff_delimiter(self.path)
        reader = pd.read_csv(self.path, sep=sep, chunksize=self.chunk_rows, low_memory=False)
        seqs: dict[str, int] = {}
        first_line = 2
        plan: _Plan | None = None
        try:
            for chunk in reader:
                plan = plan or self._plan(chunk)
                yield from self._chunk(chunk, plan, windows, seqs, first_line)
                first_line += len(chunk)
        except pd.errors.ParserError as exc:
            raise DataError.at(self.path, f"malformed CSV ({exc})") from exc
        finally:
            reader.close()

    def _plan(self, chunk: pd.DataFrame) -> _Plan:
        header = [str(c) for c in chunk.columns]
        named = [
            c
            for c in (self.timestamp_column, self.asset_column, self.label_column)
            if c is not None
        ]
        for column in (*named, *(self.columns or ())):
            if column not in header:
                raise DataError.at(
                    self.path, f"no column {column!r}; the header has {header}", line=1
                )
        ts_column = self.timestamp_column or next(
            (c for c in header if c.strip().lower() in _TIME_NAMES), None
        )
        if ts_column is None:
            raise DataError.at(
                self.path,
                f"no timestamp column found (looked for {', '.join(_TIME_NAMES)}); "
                "name it with --timestamp-column",
                line=1,
            )
        skip = {ts_column, self.asset_column, self.label_column, *self.ignore_columns}
        columns = self.columns or tuple(
            c
            for c in header
            if c not in skip
            and c.strip()
            and c.strip().lower() not in LABEL_NAMES
            and not c.startswith("Unnamed:")
            and is_mostly_numeric(chunk[c])
        )
        if not columns:
            raise DataError.at(self.path, "no numeric value columns; name them with --columns")
        unit = self.timestamp_unit or detect_time_unit(chunk[ts_column])
        return _Plan(ts_column, unit, tuple(columns))

    def _chunk(
        self,
        chunk: pd.DataFrame,
        plan: _Plan,
        windows: np.ndarray | None,
        seqs: dict[str, int],
        first_line: int,
    ) -> Iterator[SensorRecord]:
        ts = to_epoch_ms(chunk[plan.ts_column], plan.unit, self.path, plan.ts_column, first_line)
        values = numeric_block(chunk, plan.columns, self.path, first_line).tolist()
        labels = self._labels(chunk, ts, windows, first_line)
        if self.asset_column is not None:
            assets = chunk[self.asset_column].astype(str).tolist()
        else:
            assets = [self.asset or self.path.stem] * len(chunk)
        names = plan.columns
        for i, (asset, stamp, row) in enumerate(zip(assets, ts.tolist(), values, strict=True)):
            present = {n: v for n, v in zip(names, row, strict=True) if not math.isnan(v)}
            if not present:
                raise DataError.at(self.path, "every value column is empty", first_line + i)
            seq = seqs.get(asset, 0)
            seqs[asset] = seq + 1
            yield SensorRecord(
                asset=asset,
                ts=stamp,
                seq=seq,
                values=present,
                source=self.source,
                label=None if labels is None else labels[i],
            )

    def _labels(
        self, chunk: pd.DataFrame, ts: np.ndarray, windows: np.ndarray | None, first_line: int
    ) -> list[int] | None:
        if windows is not None:
            return [int(x) for x in in_windows(ts, windows)]
        if self.label_column is None:
            return None
        raw = numeric_block(chunk, [self.label_column], self.path, first_line)[:, 0]
        bad = ~np.isin(raw, (0.0, 1.0))
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError.at(
                self.path,
                f"label must be 0 or 1; got {cell(chunk[self.label_column], i)!r}",
                first_line + i,
                self.label_column,
            )
        return [int(x) for x in raw]


@dataclass(frozen=True, slots=True)
class _Plan:
    ts_column: str
    unit: TimeUnit
    columns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CsvFolder:
    """Every ``*.csv`` under ``folder`` (recursively, in name order), read as ``like`` reads a
    file; records of all files merged in event-time order."""

    folder: Path
    like: CsvSource

    def files(self) -> list[Path]:
        found = sorted(p for p in self.folder.rglob("*.csv") if p.is_file())
        if not found:
            raise DataError(f"{self.folder} holds no .csv file")
        return found

    def _source(self, path: Path) -> CsvSource:
        asset = self.like.asset
        if asset is None and self.like.asset_column is None:
            asset = path.relative_to(self.folder).with_suffix("").as_posix()
        return replace(self.like, path=path, asset=asset)

    def total(self) -> int:
        return sum(self._source(p).total() for p in self.files())

    def records(self) -> Iterator[SensorRecord]:
        streams = [self._source(p).records() for p in self.files()]
        yield from heapq.merge(*streams, key=lambda r: r.ts)


def open_csv(path: Path, **options: object) -> CsvSource | CsvFolder:
    """A CSV file, or every CSV under a folder, with the `CsvSource` options."""
    source = CsvSource(path=path, **options)  # type: ignore[arg-type]
    return CsvFolder(path, source) if path.is_dir() else source
