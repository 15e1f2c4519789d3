"""How far a detector could get on the simulated fleet: an oracle that knows the clean signal.

The fleet's readings are clean signal + injected effects + noise (`FleetData`). The oracle sees
each window minus the true clean signal (the effect plus noise: everything a perfect model of
normal behaviour would leave) and fits gradient boosting to those residual windows on the
train split, like the baselines. What it still misses is close to what no detector of these
windows can catch; the gap between it and a model is what the model loses by having to infer
the normal signal from the window itself.
"""

from __future__ import annotations

import numpy as np

from edgewatch.models.windows import Splits, fit_scaling, fleet_segments, window

__all__ = ["ORACLE", "oracle_scores"]

ORACLE = "oracle: gradient boosting on the residual from the true clean signal"


def oracle_scores(splits: Splits, seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
    """Validation and test scores of the oracle (same windows, in the same order)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    if splits.fleet is None:
        raise ValueError("the oracle needs the simulated fleet's clean signal")
    parts = fleet_segments(splits.fleet, splits.fleet.values - splits.fleet.clean)
    scaling = fit_scaling(parts["train"], "per_asset")
    sets = {name: window(segs, scaling, splits.seq_len) for name, segs in parts.items()}
    for name in ("val", "test"):
        if not np.array_equal(sets[name].y, getattr(splits, name).y):
            raise ValueError(f"the oracle's {name} windows do not line up with the splits'")
    flat = {name: ws.x.reshape(len(ws), -1) for name, ws in sets.items()}
    model = HistGradientBoostingClassifier(random_state=seed).fit(flat["train"], sets["train"].y)
    return model.predict_proba(flat["val"])[:, 1], model.predict_proba(flat["test"])[:, 1]
