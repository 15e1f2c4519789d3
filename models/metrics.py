"""Classification metrics on scores, in numpy: F1/precision/recall, ROC-AUC, PR-AUC, thresholds.

Thresholds are always chosen on validation scores (`best_threshold`) and then applied, unchanged,
to the test split.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

__all__ = [
    "Scores",
    "best_threshold",
    "bootstrap_f1",
    "evaluate",
    "last_cycle_f1",
    "last_of_each",
    "pr_auc",
    "roc_auc",
]


@dataclass(frozen=True, slots=True)
class Scores:
    f1: float
    precision: float
    recall: float
    roc_auc: float
    pr_auc: float
    threshold: float

    def as_dict(self) -> dict[str, float]:
        return {k: round(float(v), 6) for k, v in asdict(self).items()}


def _confusion(y: np.ndarray, decision: np.ndarray) -> tuple[int, int, int]:
    tp = int(np.sum(decision & (y == 1)))
    fp = int(np.sum(decision & (y == 0)))
    fn = int(np.sum(~decision & (y == 1)))
    return tp, fp, fn


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Probability that a random positive outscores a random negative (ties count half)."""
    pos, neg = int(np.sum(y == 1)), int(np.sum(y == 0))
    if pos == 0 or neg == 0:
        return float("nan")
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(score.size, dtype=np.float64)
    sorted_scores = score[order]
    # average ranks over ties
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    avg = first + (counts - 1) / 2.0 + 1.0
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[y == 1].sum() - pos * (pos + 1) / 2.0) / (pos * neg))


def pr_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Average precision: sum over thresholds of precision x recall increment."""
    pos = int(np.sum(y == 1))
    if pos == 0:
        return float("nan")
    order = np.argsort(-score, kind="mergesort")
    s, t = score[order], y[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]
    tp = np.cumsum(t)[last_of_tie]
    precision = tp / (last_of_tie + 1)
    recall_step = np.diff(np.r_[0, tp]) / pos
    return float(np.sum(precision * recall_step))


def best_threshold(y: np.ndarray, score: np.ndarray) -> float:
    """The score threshold (decide ``score >= t``) maximising F1 on these (validation) labels."""
    order = np.argsort(-score, kind="mergesort")
    s, t = score[order], y[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]
    tp = np.cumsum(t)[last_of_tie]
    fp = (last_of_tie + 1) - tp
    fn = int(np.sum(y == 1)) - tp
    f1 = 2 * tp / np.maximum(2 * tp + fp + fn, 1)
    return float(s[last_of_tie[int(np.argmax(f1))]])


def evaluate(y: np.ndarray, score: np.ndarray, threshold: float) -> Scores:
    tp, fp, fn = _confusion(y, score >= threshold)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(f1, precision, recall, roc_auc(y, score), pr_auc(y, score), threshold)


def last_of_each(group: np.ndarray) -> np.ndarray:
    """Indices of each group's last element, for contiguous groups in order (a unit's last
    observed cycle)."""
    if group.size == 0:
        return np.empty(0, np.int64)
    ends: np.ndarray = np.append(np.flatnonzero(np.diff(group)), group.size - 1)
    return ends.astype(np.int64)


def last_cycle_f1(y: np.ndarray, score: np.ndarray, threshold: float, group: np.ndarray) -> float:
    """F1 of the decisions on each group's last element only (each FD001 test unit's last
    observed cycle: will it fail within 30 cycles?)."""
    last = last_of_each(group)
    return evaluate(y[last], score[last], threshold).f1


def bootstrap_f1(
    y: np.ndarray, decision: np.ndarray, group: np.ndarray, draws: int = 2_000, seed: int = 0
) -> tuple[float, float]:
    """95% interval of F1 over resamples of whole groups (units, assets) with replacement: the
    windows of one unit are not independent, so they are drawn together."""
    ids, where = np.unique(group, return_inverse=True)
    counts = np.zeros((ids.size, 3), np.int64)  # per group: tp, fp, fn
    np.add.at(counts, where, np.stack([decision & (y == 1), decision & (y == 0),
                                       ~decision & (y == 1)], axis=1).astype(np.int64))  # fmt: skip
    picks = np.random.default_rng(seed).integers(0, ids.size, size=(draws, ids.size))
    tp, fp, fn = counts[picks].sum(axis=1).T
    f1 = 2 * tp / np.maximum(2 * tp + fp + fn, 1)
    low, high = np.percentile(f1, [2.5, 97.5])
    return float(low), float(high)
