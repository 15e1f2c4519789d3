"""Helpers shared by the table readers: timestamps, numeric columns, label windows, delimiters.

Errors name the file, the line (1-based, the header is line 1) and the column.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import orjson
import pandas as pd

from edgewatch.errors import DataError

__all__ = [
    "TimeUnit",
    "cell",
    "count_lines",
    "detect_time_unit",
    "in_windows",
    "is_mostly_numeric",
    "load_windows",
    "numeric_block",
    "sniff_delimiter",
    "to_epoch_ms",
]

TimeUnit = Literal["iso", "s", "ms"]
_MS_THRESHOLD = 1e11  # epoch numbers above this are milliseconds (1e11 s is the year 5138)


def cell(series: pd.Series, i: int) -> object:
    """The i-th value as a plain Python object (for error messages)."""
    value = series.iloc[i]
    return value.item() if isinstance(value, np.generic) else value


def is_mostly_numeric(series: pd.Series) -> bool:
    """At least half of the non-empty cells are numbers (a stray word must not hide a column)."""
    if pd.api.types.is_bool_dtype(series):
        return False
    if pd.api.types.is_numeric_dtype(series):
        return True
    present = series.dropna()
    return bool(present.size) and pd.to_numeric(present, errors="coerce").notna().mean() >= 0.5


def sniff_delimiter(path: Path, sample_bytes: int = 65_536) -> str:
    with path.open("r", newline="", encoding="utf-8", errors="replace") as handle:
        sample = handle.read(sample_bytes)
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def count_lines(path: Path, block: int = 1 << 20) -> int:
    """Lines in the file, the last one counted whether or not a newline ends it (fast: no
    parsing). Blank lines count too: a count for progress, not for records."""
    total, last = 0, b"\n"
    with path.open("rb") as handle:
        while chunk := handle.read(block):
            total += chunk.count(b"\n")
            last = chunk[-1:]
    return total + (last != b"\n")


def detect_time_unit(values: pd.Series) -> TimeUnit:
    """'s' or 'ms' for epoch numbers (by magnitude), 'iso' for text."""
    if pd.api.types.is_numeric_dtype(values):
        finite = values[np.isfinite(values)]
        return "ms" if finite.size and float(finite.abs().median()) > _MS_THRESHOLD else "s"
    return "iso"


def to_epoch_ms(
    values: pd.Series, unit: TimeUnit, path: object, column: str, first_line: int
) -> np.ndarray:
    """Epoch milliseconds (int64); naive ISO text is read as UTC."""
    if unit == "iso":
        text = values.astype(str) if pd.api.types.is_numeric_dtype(values) else values
        parsed = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
        bad = parsed.isna().to_numpy()
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError.at(
                path,
                f"cannot parse timestamp {cell(values, i)!r} as ISO 8601 "
                "(or pass --timestamp-unit s|ms for epoch numbers)",
                first_line + i,
                column,
            )
        naive_utc = parsed.dt.tz_convert(None).to_numpy()
        return naive_utc.astype("datetime64[ms]").astype(np.int64)
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(numbers)
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError.at(
            path, f"timestamp {cell(values, i)!r} is not an epoch number", first_line + i, column
        )
    return np.round(numbers * (1.0 if unit == "ms" else 1000.0)).astype(np.int64)


def numeric_block(
    frame: pd.DataFrame, columns: Sequence[str], path: object, first_line: int
) -> np.ndarray:
    """The columns as float64, NaN where a cell is empty; text in a cell is an error."""
    out = np.empty((len(frame), len(columns)))
    for j, column in enumerate(columns):
        series = frame[column]
        if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
            numbers = pd.to_numeric(series, errors="coerce")
            bad = (numbers.isna() & series.notna()).to_numpy()
            if bad.any():
                i = int(np.argmax(bad))
                raise DataError.at(
                    path, f"value {cell(series, i)!r} is not a number", first_line + i, column
                )
            series = numbers
        out[:, j] = series.to_numpy(np.float64)
    if np.isinf(out).any():
        i, j = np.argwhere(np.isinf(out))[0]
        raise DataError.at(path, "value is infinite", first_line + int(i), columns[j])
    return out


def load_windows(path: Path) -> np.ndarray:
    """Label windows as an (n, 2) int64 array of [start, end] epoch ms, both ends inclusive.

    A JSON file holds ``[[start, end], ...]``; a CSV file has ``start`` and ``end`` columns (more
    columns are ignored). Bounds are ISO 8601 text (naive = UTC) or epoch seconds/milliseconds.
    """
    if not path.is_file():
        raise DataError(f"label windows file {path} does not exist")
    if path.suffix.lower() == ".json":
        try:
            pairs = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError as exc:
            raise DataError.at(path, f"not valid JSON ({exc})") from exc
        if not isinstance(pairs, list) or not all(
            isinstance(p, list) and len(p) == 2 for p in pairs
        ):
            raise DataError.at(path, "must be a JSON list of [start, end] pairs")
        frame = pd.DataFrame(pairs, columns=["start", "end"])
    else:
        frame = pd.read_csv(path, sep=sniff_delimiter(path))
        missing = {"start", "end"} - set(frame.columns)
        if missing:
            raise DataError.at(path, f"needs 'start' and 'end' columns; missing {sorted(missing)}")
    bounds = [
        [_bound_ms(v, path, i + 2, c) for i, v in enumerate(frame[c].tolist())]
        for c in ("start", "end")
    ]
    windows = np.array(bounds, dtype=np.int64).T.reshape(-1, 2)
    backwards = windows[:, 1] < windows[:, 0]
    if backwards.any():
        i = int(np.argmax(backwards))
        raise DataError.at(path, "window ends before it starts", i + 2, "end")
    return windows[np.argsort(windows[:, 0], kind="stable")]


def _bound_ms(value: object, path: Path, line: int, column: str) -> int:
    """One window bound: epoch s/ms by magnitude, or ISO 8601 text (naive = UTC)."""
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        stamp = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
        if pd.isna(stamp):
            raise DataError.at(path, f"cannot parse {value!r} as a time", line, column) from None
        return int(stamp.value // 1_000_000)
    return round(number if abs(number) > _MS_THRESHOLD else number * 1000)


def in_windows(ts_ms: np.ndarray, windows: np.ndarray) -> np.ndarray:
    """1 where a timestamp lies inside any window (inclusive bounds), else 0."""
    if windows.size == 0:
        return np.zeros(ts_ms.shape, dtype=np.int64)
    # Index of the last window starting at or before each timestamp; overlaps are merged first.
    starts, ends = _merge(windows)
    idx = np.searchsorted(starts, ts_ms, side="right") - 1
    inside = (idx >= 0) & (ts_ms <= ends[np.clip(idx, 0, None)])
    return inside.astype(np.int64)


def _merge(windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    starts: list[int] = []
    ends: list[int] = []
    for start, end in windows.tolist():
        if starts and start <= ends[-1]:
            ends[-1] = max(ends[-1], end)
        else:
            starts.append(start)
            ends.append(end)
    return np.asarray(starts, np.int64), np.asarray(ends, np.int64)
