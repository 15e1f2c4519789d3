"""Classical baselines on the same windows and splits as the networks (scikit-learn).

Supervised: logistic regression on the newest reading and on the flattened window, gradient
boosting on the flattened window. Unsupervised (fitted to the normal training windows only, as
the statistical methods of anomaly detection are): Isolation Forest and the Local Outlier Factor
on the flattened window. Every baseline is trained on the labels (or normal windows) of the
train split, whatever target the networks are fitted to, and seeded.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from edgewatch.models.variants import Trained
from edgewatch.models.windows import Splits

__all__ = ["LOF_MOST", "baselines"]

#: LOF keeps its training windows and compares every new one with all of them: at most this many.
LOF_MOST = 5_000


def _newest(x: np.ndarray) -> np.ndarray:
    return x[:, -1, :]


def _flat(x: np.ndarray) -> np.ndarray:
    return x.reshape(len(x), -1)


def _size(estimator: Any) -> int:
    """Bytes of the fitted estimator as scikit-learn would save it (our own object)."""
    return len(pickle.dumps(estimator, protocol=pickle.HIGHEST_PROTOCOL))


def _nodes(estimator: Any) -> int:
    """Learned numbers of a tree ensemble: one per node (a split threshold or a leaf value)."""
    if hasattr(estimator, "estimators_"):  # Isolation Forest
        return int(sum(tree.tree_.node_count for tree in estimator.estimators_))
    return int(sum(p.nodes.size for trees in estimator._predictors for p in trees))


def _trained(
    name: str,
    estimator: Any,
    features: Callable[[np.ndarray], np.ndarray],
    score: Callable[[Any, np.ndarray], np.ndarray],
    parameters: int,
) -> Trained:
    def scorer(x: np.ndarray) -> np.ndarray:
        return np.asarray(score(estimator, features(x)), dtype=np.float64)

    return Trained(name, scorer, parameters, _size(estimator), "scikit-learn")


def _probability(estimator: Any, features: np.ndarray) -> np.ndarray:
    return np.asarray(estimator.predict_proba(features)[:, 1])


def _outlier(estimator: Any, features: np.ndarray) -> np.ndarray:
    return -np.asarray(estimator.score_samples(features))  # higher = more anomalous


def baselines(splits: Splits, seed: int = 42) -> list[tuple[str, Callable[[], Trained]]]:
    """(name, fit) for each baseline; ``fit()`` trains it on the train split."""
    from sklearn.ensemble import HistGradientBoostingClassifier, IsolationForest
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import LocalOutlierFactor

    x, y = splits.train.x, splits.train.y
    normal = x[y == 0]

    def logistic(name: str, features: Callable[[np.ndarray], np.ndarray]) -> Trained:
        model = LogisticRegression(max_iter=5_000, random_state=seed).fit(features(x), y)
        return _trained(name, model, features, _probability, model.coef_.size + 1)

    def boosting(name: str) -> Trained:
        model = HistGradientBoostingClassifier(random_state=seed).fit(_flat(x), y)
        return _trained(name, model, _flat, _probability, _nodes(model))

    def forest(name: str) -> Trained:
        model = IsolationForest(random_state=seed).fit(_flat(normal))
        return _trained(name, model, _flat, _outlier, _nodes(model))

    def lof(name: str) -> Trained:
        rng = np.random.default_rng(seed)
        keep = np.sort(rng.choice(len(normal), min(len(normal), LOF_MOST), replace=False))
        kept = _flat(normal[keep])  # LOF's model is the windows it keeps
        model = LocalOutlierFactor(novelty=True).fit(kept)
        return _trained(name, model, _flat, _outlier, int(kept.size))

    fits: list[tuple[str, Callable[[str], Trained]]] = [
        ("logistic regression, newest reading", partial(logistic, features=_newest)),
        ("logistic regression, flattened window", partial(logistic, features=_flat)),
        ("gradient boosting, flattened window", boosting),
        ("Isolation Forest (normal windows only)", forest),
        ("LOF (normal windows only)", lof),
    ]
    return [(name, partial(fit, name)) for name, fit in fits]
