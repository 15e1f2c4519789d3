"""`edgewatch models cascade`: how often must the model wake, and what does the gate cost in F1?

Two gates in front of the full model (the shipped INT8 artifact):

- ``sentinel``: a small LSTM answers where it is confident (|p - 0.5| x 2 >= c) and wakes the
  full model elsewhere; c is swept from 0.5 to 0.95;
- ``prefilter``: the streaming statistical prefilter (`operators.EWZScore`, warmed on each
  asset's training segment, run in time order) wakes the model when the largest prefilter score
  inside the window reaches a quantile of its validation scores; windows not woken are decided
  normal.

For each setting the threshold is chosen on validation system scores and F1 is read on test.
Energy per window is power x measured time, under the stated power assumptions.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from edgewatch.models.metrics import best_threshold, evaluate
from edgewatch.models.variants import collaborative_scores
from edgewatch.models.windows import Splits
from edgewatch.operators.zscore import EWZScore

__all__ = ["POWER", "Costs", "markdown", "measure_prefilter_us", "prefilter_scores", "sweep"]

#: Power assumptions of the energy estimate (watts while busy), printed with every result.
POWER = {
    "cpu_active_w": 2.0,  # one busy core of an edge-class ARM SoC (assumption, not measured)
}


def prefilter_scores(splits: Splits, part: str, fading_factor: float = 0.0005) -> np.ndarray:
    """Per window of ``part``: the largest `EWZScore` of its readings, computed in stream order
    on scaled readings, each asset's detector first warmed on its training segment."""
    warm = {seg.asset: seg for seg in splits.segments["train"]}
    out: list[np.ndarray] = []
    for seg in splits.segments[part]:
        if len(seg.values) < splits.seq_len and not splits.pad_start:
            continue
        mean, std = splits.scaling.stats(seg.asset)
        detector = EWZScore(fading_factor, warmup=2)
        names = [str(i) for i in range(seg.values.shape[1])]
        if part != "train" and seg.asset in warm:
            for row in ((warm[seg.asset].values - mean) / std).tolist():
                detector.learn_one(dict(zip(names, row, strict=True)))
        scores = np.empty(len(seg.values))
        for i, row in enumerate(((seg.values - mean) / std).tolist()):
            x = dict(zip(names, row, strict=True))
            scores[i] = detector.score_one(x)
            detector.learn_one(x)
        if splits.pad_start:  # the first reading repeated in front, as the windows are
            scores = np.concatenate([np.repeat(scores[:1], splits.seq_len - 1), scores])
        out.append(sliding_window_view(scores, splits.seq_len).max(axis=1))
    return np.concatenate(out) if out else np.empty(0)


@dataclass(frozen=True, slots=True)
class Costs:
    model_us: float  # full model, per window at batch 1
    sentinel_us: float
    prefilter_us: float  # per reading

    def energy_uj(self, wake_rate: float, gate_us: float) -> float:
        return POWER["cpu_active_w"] * (gate_us + wake_rate * self.model_us)


def _gated(
    y_val: np.ndarray,
    s_val: np.ndarray,
    woken_val: np.ndarray,
    y_test: np.ndarray,
    s_test: np.ndarray,
    woken_test: np.ndarray,
) -> float:
    """F1 when windows the gate did not wake are decided normal, whatever the threshold: the
    threshold is chosen on the woken validation windows only."""
    if not (woken_val & (y_val == 1)).any():
        return 0.0
    threshold = best_threshold(y_val[woken_val], s_val[woken_val])
    return evaluate(y_test, np.where(woken_test, s_test, -1.0), threshold).f1  # never flagged


def _system(y_val: np.ndarray, s_val: np.ndarray, y_test: np.ndarray, s_test: np.ndarray) -> float:
    return evaluate(y_test, s_test, best_threshold(y_val, s_val)).f1


def sweep(
    splits: Splits,
    full: Callable[[np.ndarray], np.ndarray],
    sentinel: Callable[[np.ndarray], np.ndarray],
    costs: Costs,
) -> dict[str, Any]:
    val, test = splits.val, splits.test
    full_val, full_test = full(val.x), full(test.x)
    reference = _system(val.y, full_val, test.y, full_test)
    rows: list[dict[str, Any]] = []
    for c in np.round(np.arange(0.5, 0.951, 0.05), 2):
        s_val, _ = collaborative_scores(sentinel, full, val.x, float(c))
        s_test, wake = collaborative_scores(sentinel, full, test.x, float(c))
        rows.append(
            _row(
                "sentinel",
                f"confidence {c:.2f}",
                wake,
                _system(val.y, s_val, test.y, s_test),
                reference,
                costs.energy_uj(wake, costs.sentinel_us),
            )
        )
    p_val, p_test = prefilter_scores(splits, "val"), prefilter_scores(splits, "test")
    for q in (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95):
        gate = float(np.quantile(p_val, q))
        woken_val, woken_test = p_val >= gate, p_test >= gate
        f1 = _gated(val.y, full_val, woken_val, test.y, full_test, woken_test)
        wake = float(np.mean(woken_test))
        energy = costs.energy_uj(wake, costs.prefilter_us)
        rows.append(_row("prefilter", f"quantile {q:.2f}", wake, f1, reference, energy))
    return {
        "reference_f1": round(reference, 6),
        "power": POWER,
        "costs_us": asdict(costs),
        "rows": rows,
    }


def _row(
    gate: str, setting: str, wake: float, f1: float, reference: float, energy: float
) -> dict[str, Any]:
    return {
        "gate": gate,
        "setting": setting,
        "wake_rate": round(wake, 4),
        "system_f1": round(f1, 6),
        "f1_loss": round(reference - f1, 6),
        "energy_uj_per_window": round(energy, 3),
        "meets_target": wake <= 0.30 and reference - f1 <= 0.005,
    }


def measure_prefilter_us(readings: int = 20_000) -> float:
    detector = EWZScore(0.0005, warmup=2)
    values = np.random.default_rng(0).normal(size=readings).tolist()
    start = time.perf_counter()
    for v in values:
        x = {"0": v}
        detector.score_one(x)
        detector.learn_one(x)
    return (time.perf_counter() - start) / readings * 1e6


def markdown(dataset: str, result: dict[str, Any]) -> str:
    lines = [
        f"# Cascade sweep: {dataset}",
        "",
        f"Full model alone: test F1 {result['reference_f1']:.4f}. Target: wake rate <= 30% with "
        "system F1 within 0.005 of it. Energy = power x measured time per window, assuming "
        f"{POWER['cpu_active_w']} W for a busy edge-class CPU core (an assumption, not a "
        f"measurement); measured costs (us): {result['costs_us']}.",
        "",
        "| gate | setting | wake rate | system F1 | F1 loss | energy uJ/window | meets target |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['gate']} | {r['setting']} | {r['wake_rate']:.3f} | {r['system_f1']:.4f} | "
            f"{r['f1_loss']:+.4f} | {r['energy_uj_per_window']:.2f} | "
            f"{'yes' if r['meets_target'] else 'no'} |"
        )
    return "\n".join(lines) + "\n"
