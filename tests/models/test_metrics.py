from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from edgewatch.models.metrics import (
    best_threshold,
    bootstrap_f1,
    evaluate,
    last_cycle_f1,
    last_of_each,
    pr_auc,
    roc_auc,
)

cases = st.lists(st.tuples(st.sampled_from([0, 1]), st.integers(0, 6)), min_size=2, max_size=40)


def _arrays(pairs: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    return np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs], dtype=float)


@given(cases)
def test_roc_auc_is_the_pairwise_probability(pairs: list[tuple[int, int]]) -> None:
    y, s = _arrays(pairs)
    pos, neg = s[y == 1], s[y == 0]
    if not len(pos) or not len(neg):
        assert np.isnan(roc_auc(y, s))
        return
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg))
    assert np.isclose(roc_auc(y, s), wins / (len(pos) * len(neg)))


@given(cases)
def test_pr_auc_is_average_precision_over_distinct_thresholds(pairs: list[tuple[int, int]]) -> None:
    y, s = _arrays(pairs)
    if not y.sum():
        return
    total, previous_recall = 0.0, 0.0
    for t in sorted(set(s), reverse=True):
        flagged = s >= t
        precision = (y[flagged] == 1).mean()
        recall = (y[flagged] == 1).sum() / y.sum()
        total += precision * (recall - previous_recall)
        previous_recall = recall
    assert np.isclose(pr_auc(y, s), total)


@given(cases)
def test_best_threshold_maximises_f1(pairs: list[tuple[int, int]]) -> None:
    y, s = _arrays(pairs)
    if not y.sum():
        return
    chosen = evaluate(y, s, best_threshold(y, s)).f1
    assert all(chosen >= evaluate(y, s, t).f1 - 1e-12 for t in set(s))


@given(st.lists(st.integers(1, 5), min_size=1, max_size=12))
def test_last_of_each_matches_pandas(sizes: list[int]) -> None:
    group = np.repeat(np.arange(len(sizes)), sizes)
    expected = pd.Series(np.arange(group.size)).groupby(group).last().to_numpy()
    assert last_of_each(group).tolist() == expected.tolist()


@given(cases, st.integers(1, 6))
def test_last_cycle_f1_is_the_f1_of_each_groups_last_row(
    pairs: list[tuple[int, int]], groups: int
) -> None:
    y, s = _arrays(pairs)
    group = np.arange(y.size) * groups // y.size
    frame = pd.DataFrame({"y": y, "s": s}).groupby(group).last()
    want = evaluate(frame["y"].to_numpy(), frame["s"].to_numpy(), 3).f1
    assert last_cycle_f1(y, s, 3, group) == want


@given(cases, st.integers(1, 6))
def test_bootstrap_interval_is_ordered_and_degenerate_for_one_group(
    pairs: list[tuple[int, int]], groups: int
) -> None:
    y, s = _arrays(pairs)
    decision = s >= 3
    group = np.arange(y.size) * groups // y.size
    low, high = bootstrap_f1(y, decision, group, draws=200)
    assert 0.0 <= low <= high <= 1.0
    f1 = evaluate(y, s, 3.0).f1
    one, same = bootstrap_f1(y, decision, np.zeros(y.size, np.int64), draws=50)
    assert np.isclose(one, f1)
    assert np.isclose(same, f1)
