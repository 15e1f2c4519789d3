from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("torch")

from edgewatch.models.baselines import baselines
from edgewatch.models.metrics import roc_auc
from edgewatch.models.oracle import oracle_scores
from edgewatch.models.windows import simulated_splits
from edgewatch.producers.simulated import FleetSpec


@pytest.fixture(scope="module")
def splits():  # type: ignore[no-untyped-def]
    return simulated_splits(spec=FleetSpec(assets=4, points=4_000))  # positives in val and test


def test_every_baseline_scores_each_window_and_ranks_anomalies_higher(splits) -> None:  # type: ignore[no-untyped-def]
    names, auc = [], {}
    for label, fit in baselines(splits):
        variant = fit()
        names.append(label)
        score = variant.score(splits.test.x)
        assert score.shape == (len(splits.test),)
        assert np.isfinite(score).all()
        auc[label] = roc_auc(splits.test.y, score)
        assert variant.parameters > 0
        assert variant.size_bytes > 0
        np.testing.assert_array_equal(variant.score(splits.test.x[:7]), score[:7])
    assert len(names) == 5
    # a linear model cannot tell a sine's phase from an anomaly; trees and neighbours can
    assert min(auc.values()) > 0.5
    assert all(auc[n] > 0.95 for n in names if "logistic" not in n)


def test_the_oracle_reads_the_same_windows_and_beats_the_readings(splits) -> None:  # type: ignore[no-untyped-def]
    val, test = oracle_scores(splits)
    assert val.shape == splits.val.y.shape
    assert test.shape == splits.test.y.shape
    assert roc_auc(splits.test.y, test) > 0.95  # it knows the clean signal
