"""How far a detector could get on the simulated fleet: an oracle that knows the clean signal.

The fleet's readings are clean signal + injected effects + noise (`FleetData`). The oracle sees
each window minus the true clean signal (the effect plus noise: everything a perfect model of
normal behaviour would leave) and fits gradient boosting to those residual windows on the
train split, like the baselines. What it still misses is close to what no detector of these
windows can catch; the gap between it and a model is what the model loses by having to infer
the normal signal from the window itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edgewatch.models.windows import Segment, Splits, fit_scaling, window
from edgewatch.producers.simulated import split_bounds

__all__ = ["ORACLE", "oracle_scores"]

ORACLE = "oracle: gradient boosting on the residual from the true clean signal"


def _residual_segments(splits: Splits) -> dict[str, list[Segment]]:
    fleet = splits.fleet
    if fleet is None or fleet.clean is None:
        raise ValueError("the oracle needs the simulated fleet's clean signal")
    residual = fleet.values - fleet.clean
    parts: dict[str, list[Segment]] = {"train": [], "val": [], "test": []}
    for a, asset in enumerate(fleet.asset_ids):
        for name, (lo, hi) in split_bounds(fleet.spec.points).items():
            parts[name].append(Segment(asset, residual[a, lo:hi, None], fleet.labels[a, lo:hi]))
    return parts


def oracle_scores(splits: Splits, seed: int = 42) -> tuple[np.ndarray, np.ndarray, Any]:
    """Validation and test scores of the oracle (same windows, in the same order), and the
    fitted estimator."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    parts = _residual_segments(splits)
    scaling = fit_scaling(parts["train"], "per_asset")
    sets = {name: window(segs, scaling, splits.seq_len) for name, segs in parts.items()}
    for name in ("val", "test"):
        if not np.array_equal(sets[name].y, getattr(splits, name).y):
            raise ValueError(f"the oracle's {name} windows do not line up with the splits'")
    flat = {name: ws.x.reshape(len(ws), -1) for name, ws in sets.items()}
    model = HistGradientBoostingClassifier(random_state=seed).fit(flat["train"], sets["train"].y)
    return (
        model.predict_proba(flat["val"])[:, 1],
        model.predict_proba(flat["test"])[:, 1],
        model,
    )
