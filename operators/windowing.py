"""`CountWindows`: per-asset windows of the last ``seq_len`` readings, one per record once full.

Each asset keeps its newest ``seq_len - 1`` readings in the model card's channel order. A batch's
windows come out as one `WindowBatch`: columns (the newest record of each window, one
``(n, seq_len, channels)`` array of readings, and the prefilter/gate columns), built from one
numpy sliding window per asset, so per-window Python work stays out of the hot path. A record
missing a channel carries that channel's last value forward; until every channel has been seen,
and until ``seq_len`` readings have arrived (unless ``pad_start``), the record is counted as
warm-up and yields no window. ``stride`` emits a window every ``stride``-th record of an asset.

Channel contract: an asset that has sent ``seq_len`` records and still lacks one of the model's
channels does not fit the model. Its further records are counted in ``unfit`` (not warm-up),
and the asset is reported once, with the channels it lacks, through `take_unfit`, so the member
can say so instead of warming up forever.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from edgewatch.errors import ConfigError, StateError
from edgewatch.operators import state as snap
from edgewatch.records import SensorRecord

__all__ = ["CountWindows", "Window", "WindowBatch"]


@dataclass(slots=True)
class Window:
    """One window of a `WindowBatch`: the newest record and the ``(seq_len, channels)`` readings
    that end with it, with what the prefilter and the gate decided for it."""

    record: SensorRecord
    values: np.ndarray
    prefilter: float | None = None
    woken: bool = True
    audit: bool = False


_UNSET = np.zeros(0, dtype=bool)  # a column not given: filled in by __post_init__


@dataclass(slots=True)
class WindowBatch:
    """A batch of windows as columns; ``values[i]`` is the window that ends with ``records[i]``.

    The prefilter fills ``prefilter`` (one score per window); the gate fills ``woken`` (all True
    until it runs) and ``audit``. Iterating yields one `Window` per row (views, not copies).
    """

    records: list[SensorRecord]
    values: np.ndarray  # (n, seq_len, channels) float64
    prefilter: np.ndarray | None = None  # (n,) float64
    woken: np.ndarray = field(default_factory=lambda: _UNSET)  # (n,) bool; all True if not given
    audit: np.ndarray = field(default_factory=lambda: _UNSET)  # (n,) bool; all False if not given

    def __post_init__(self) -> None:
        n = len(self.records)
        if self.woken is _UNSET:
            self.woken = np.ones(n, dtype=bool)
        if self.audit is _UNSET:
            self.audit = np.zeros(n, dtype=bool)
        for name, column in (("values", self.values), ("woken", self.woken), ("audit", self.audit)):
            if len(column) != n:
                raise ValueError(f"{n} records but {len(column)} rows of {name}")

    @classmethod
    def of(cls, windows: Sequence[Window], shape: tuple[int, int] = (1, 1)) -> WindowBatch:
        """Columns from `Window` items (``shape`` = (seq_len, channels) when there are none)."""
        values = np.stack([w.values for w in windows]) if windows else np.empty((0, *shape))
        prefilter = [w.prefilter for w in windows]
        return cls(
            [w.record for w in windows],
            values,
            None if None in prefilter or not windows else np.array(prefilter, dtype=np.float64),
            np.array([w.woken for w in windows], dtype=bool),
            np.array([w.audit for w in windows], dtype=bool),
        )

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[Window]:
        scores = self.prefilter.tolist() if self.prefilter is not None else [None] * len(self)
        columns = (self.records, self.values, scores, self.woken.tolist(), self.audit.tolist())
        for record, values, score, woken, audit in zip(*columns, strict=True):
            yield Window(record, values, score, woken, audit)


class _AssetState:
    __slots__ = ("count", "incomplete", "last", "tail")

    def __init__(self, seq_len: int, channels: int) -> None:
        self.count = 0  # readings appended
        self.incomplete = 0  # records so far that left a channel never seen
        self.last = np.full(channels, np.nan)  # carried-forward values
        self.tail = np.empty((0, channels))  # the newest seq_len - 1 readings


def _carry_forward(rows: np.ndarray) -> np.ndarray:
    """Each NaN takes the last non-NaN value above it in its column (if any)."""
    missing = np.isnan(rows)
    if not missing.any():
        return rows
    index = np.where(missing, 0, np.arange(len(rows))[:, None])
    np.maximum.accumulate(index, axis=0, out=index)
    return rows[index, np.arange(rows.shape[1])]


class CountWindows:
    def __init__(
        self, channels: Sequence[str], seq_len: int, stride: int = 1, pad_start: bool = False
    ) -> None:
        if not channels:
            raise ConfigError.invalid("channels", "must name at least one channel", channels)
        if seq_len < 1 or stride < 1:
            raise ConfigError.invalid("seq_len/stride", "must be at least 1", (seq_len, stride))
        self.channels = list(channels)
        self.seq_len = seq_len
        self.stride = stride
        self.pad_start = pad_start
        self.states: dict[str, _AssetState] = {}
        self.warming = 0  # records that yielded no window (warm-up or stride)
        self.unfit = 0  # records of assets that lack a model channel (see the module doc)
        self._unfit_news: dict[str, list[str]] = {}  # newly unfit asset -> channels it lacks

    def __len__(self) -> int:
        return len(self.states)

    def evict(self, assets: Iterable[str]) -> None:
        """Forget these assets (their partition moved away); they warm up again if they return."""
        for asset in assets:
            self.states.pop(asset, None)

    def take_unfit(self) -> dict[str, list[str]]:
        """Assets found not to fit since the last call, each with the channels it lacks."""
        news, self._unfit_news = self._unfit_news, {}
        return news

    def state_of(self, asset: str) -> dict[str, Any] | None:
        """The asset's state as JSON-ready values (None: no state), for `restore`."""
        state = self.states.get(asset)
        if state is None:
            return None
        return {
            "count": state.count,
            "incomplete": state.incomplete,
            "last": state.last.tolist(),
            "tail": state.tail.tolist(),
        }

    def restore(self, asset: str, saved: Mapping[str, Any]) -> None:
        """Take up the asset's state from `state_of` (missing values travel as None); every
        field is checked (`StateError` names the one that does not fit)."""
        channels, where = len(self.channels), f"window state of {asset!r}"
        count = snap.integer(saved, "count", where)
        last = snap.reading(saved, "last", where, channels)
        tail = snap.rows(saved, "tail", where, channels, self.seq_len - 1)
        if count < len(tail):
            raise StateError(f"{where} holds {len(tail)} readings after {count}")
        kept = self.states[asset] = _AssetState(self.seq_len, channels)
        # snapshots from before the unfit count was carried have no "incomplete": 0
        kept.incomplete = snap.integer(saved, "incomplete", where) if "incomplete" in saved else 0
        kept.count, kept.last = count, np.array(last, dtype=np.float64)
        kept.tail = np.array(tail, dtype=np.float64).reshape(-1, channels)

    def process(self, batch: list[SensorRecord]) -> WindowBatch:
        """The batch's windows, in batch order."""
        groups: dict[str, list[int]] = {}
        for i, record in enumerate(batch):
            groups.setdefault(record.asset, []).append(i)
        positions: list[np.ndarray] = []
        views: list[np.ndarray] = []
        for asset, members in groups.items():
            at, found = self._asset(asset, [batch[i] for i in members])
            positions.append(np.asarray(members)[at])
            views.append(found)
        if not views:
            return WindowBatch([], np.empty((0, self.seq_len, len(self.channels))))
        where = np.concatenate(positions)
        order = np.argsort(where, kind="stable")
        return WindowBatch([batch[i] for i in where[order].tolist()], np.concatenate(views)[order])

    def _incomplete(self, asset: str, state: _AssetState, n: int) -> int:
        """Count ``n`` records that left a model channel unseen; how many of them are unfit."""
        before = state.incomplete
        state.incomplete += n
        unfit = max(0, state.incomplete - max(before, self.seq_len))
        self.unfit += unfit
        if unfit and before < self.seq_len:  # newly unfit: report it once
            nan = np.isnan(state.last)
            missing = [c for c, no in zip(self.channels, nan, strict=True) if no]
            if missing:  # (unless its last channel came later in the same batch)
                self._unfit_news[asset] = missing
        return unfit

    def _asset(self, asset: str, records: list[SensorRecord]) -> tuple[np.ndarray, np.ndarray]:
        """Which of ``records`` end a window (indices), and those windows."""
        seq_len, names = self.seq_len, self.channels
        state = self.states.get(asset)
        if state is None:
            state = self.states[asset] = _AssetState(seq_len, len(names))
        raw = _readings(records, names)
        rows = _carry_forward(np.vstack([state.last, raw]))[1:]
        state.last = rows[-1].copy()
        complete = ~np.isnan(rows).any(axis=1)  # once complete, carry-forward keeps it so
        start = int(np.argmax(complete)) if complete.any() else len(rows)
        unfit = self._incomplete(asset, state, start) if start else 0
        rows = rows[start:]
        if state.count == 0 and self.pad_start and len(rows):
            state.tail = np.repeat(rows[:1], seq_len - 1, axis=0)
            state.count = seq_len - 1
        full = np.vstack([state.tail, rows])
        counts = state.count + np.arange(1, len(rows) + 1)  # readings so far, at each row
        keep = np.flatnonzero((counts >= seq_len) & ((counts - seq_len) % self.stride == 0))
        self.warming += len(records) - len(keep) - unfit
        state.count += len(rows)
        state.tail = full[len(full) - min(seq_len - 1, len(full)) :].copy()
        if not len(keep):
            return keep, np.empty((0, seq_len, len(names)))
        windows = sliding_window_view(full, seq_len, axis=0).transpose(0, 2, 1)
        offset = len(full) - len(rows) - (seq_len - 1)  # window index of the window ending at row 0
        return start + keep, windows[offset + keep]


def _readings(records: list[SensorRecord], names: Sequence[str]) -> np.ndarray:
    """(records, channels) of ``records``' readings of ``names``, NaN where one is missing."""
    nan = math.nan
    if len(names) == 1:  # the common single-channel stream: a quarter of the time of the general
        (name,) = names
        return np.array([r.values.get(name, nan) for r in records], np.float64).reshape(-1, 1)
    return np.array([[r.values.get(n, nan) for n in names] for r in records], dtype=np.float64)
