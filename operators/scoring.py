"""`CardScaler` and `ModelScorer`: scale windows as the model was trained, score them in batches.

The scaler applies the model card's statistics: the card's global statistics, or, for a card
trained on each asset scaled by its own (``mode: per_asset``, the simulated fleet), those of each
training asset. Such a model has only ever seen assets in their own scale, so any other asset is
scaled by its own statistics too, learned online (`AssetScaler`): the training assets' average
would put a unit with another level or spread outside what the model knows, and it would flag
most windows (it did: 58-100% of those of the simulated fleet's units beyond the five it knows).

The scorer sends the batch's woken windows to the model in micro-batches of at most
``batch_size`` and returns a `Scored` item per window (without its readings: the cascade
attaches those to the windows an explanation needs).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from time import perf_counter
from typing import Any, TypeVar

import numpy as np

from edgewatch.errors import ConfigError
from edgewatch.operators.assetscaler import AssetScaler
from edgewatch.operators.base import Scored
from edgewatch.operators.windowing import WindowBatch

__all__ = ["INLINE", "CardScaler", "ModelScorer", "scored"]

#: Fewer windows than this are scored on the calling thread: handing them to the worker thread
#: costs more than the overlap saves (one window per call: 235 µs of CPU instead of 110).
INLINE = 64

A = TypeVar("A")
B = TypeVar("B")


class CardScaler:
    def __init__(self, scaling: Mapping[str, Any]) -> None:
        mode = scaling.get("mode")
        if mode not in ("per_asset", "global"):
            raise ConfigError.invalid("scaling.mode", "must be 'per_asset' or 'global'", mode)
        assets = scaling.get("assets", {})
        self._row = {asset: i + 1 for i, asset in enumerate(assets)}  # row 0: the global stats
        stats = [scaling, *assets.values()]
        self.mean = np.array([s["mean"] for s in stats], dtype=np.float64)  # (1 + assets, ch)
        self.std = np.array([s["std"] for s in stats], dtype=np.float64)
        #: per_asset: the assets the card has no statistics for, by their own
        self.own = AssetScaler(self.mean.shape[1]) if mode == "per_asset" else None

    # The card's statistics are the member's; only the assets scaled by their own have state.
    def evict(self, assets: Iterable[str]) -> None:
        if self.own is not None:
            self.own.evict(assets)

    def state_of(self, asset: str) -> dict[str, Any] | None:
        return None if self.own is None else self.own.state_of(asset)

    def restore(self, asset: str, saved: Mapping[str, Any]) -> None:
        if self.own is not None:
            self.own.restore(asset, saved)

    def process(self, batch: WindowBatch) -> WindowBatch:
        if not len(batch):
            return batch
        if not self._row:
            batch.values = (batch.values - self.mean[0]) / self.std[0]
            return batch
        row, records = self._row, batch.records
        at = np.fromiter((row.get(r.asset, 0) for r in records), np.intp, len(batch))
        values = (batch.values - self.mean[at][:, None, :]) / self.std[at][:, None, :]
        other = np.flatnonzero(at == 0)
        if len(other) and self.own is not None:
            own = [records[i] for i in other]
            values[other] = self.own.scale(own, batch.values[other])
        batch.values = values
        return batch


class ModelScorer:
    """``score`` maps a (n, seq_len, channels) float32 array to n probabilities.

    `submit` starts scoring a batch on the scorer's worker thread and returns a function that
    waits for it: ONNX Runtime releases the GIL while it runs, so the caller can prepare the next
    batch or publish the previous one meanwhile. Batches are scored in submission order; one of
    fewer than `INLINE` windows is scored at once on the calling thread.
    """

    def __init__(self, score: Callable[[np.ndarray], np.ndarray], batch_size: int = 256) -> None:
        if batch_size < 1:
            raise ConfigError.invalid("batch_size", "must be at least 1", batch_size)
        self.score = score
        self.batch_size = batch_size
        self.invocations = 0  # model calls (micro-batches)
        self.windows = 0  # windows scored
        self.seconds = 0.0  # wall time inside the model
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="edgewatch-model")

    def run(self, x: np.ndarray) -> np.ndarray:
        """Score ``x`` (float32 windows) here and now, in micro-batches."""
        found = np.empty(len(x))
        for start in range(0, len(x), self.batch_size):
            began = perf_counter()
            found[start : start + self.batch_size] = self.score(x[start : start + self.batch_size])
            self.seconds += perf_counter() - began
            self.invocations += 1
        self.windows += len(x)
        return found

    def start(self, x: np.ndarray) -> Future[np.ndarray]:
        """`run` on the worker thread (in submission order)."""
        return self.spawn(self.run, x)

    def spawn(self, work: Callable[[A], B], arg: A) -> Future[B]:
        """Any scoring ``work(arg)`` on the worker thread, in order with `start`'s."""
        return self._worker.submit(work, arg)

    def submit(self, batch: WindowBatch) -> Callable[[], list[Scored]]:
        """Start scoring the woken windows; the returned function waits and gives one `Scored`
        per window (a window the gate did not wake scores 0.0)."""
        woken = batch.woken
        every = bool(woken.all())
        x = (batch.values if every else batch.values[woken]).astype(np.float32)
        scores = np.zeros(len(batch))
        future = self.start(x) if len(x) >= INLINE else None
        if future is None and len(x):
            scores[woken] = self.run(x)

        def collect() -> list[Scored]:
            if future is not None:
                scores[woken] = future.result()
            return scored(batch, scores)

        return collect

    def process(self, batch: WindowBatch) -> list[Scored]:
        return self.submit(batch)()


def scored(batch: WindowBatch, scores: np.ndarray) -> list[Scored]:
    """One `Scored` per window of ``batch`` with its model score (0.0 where not woken)."""
    n = len(batch)
    prefilter = batch.prefilter.tolist() if batch.prefilter is not None else [None] * n
    columns = (
        batch.records,
        scores.tolist(),
        prefilter,
        batch.woken.tolist(),
        batch.audit.tolist(),
    )
    # positional arguments: a third faster than keywords, and this runs once per window
    return [Scored(r, score, False, p, w, a) for r, score, p, w, a in zip(*columns, strict=True)]
