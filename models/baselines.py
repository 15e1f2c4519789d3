"""Classical baselines on the same windows and splits as the networks (scikit-learn).

Supervised: logistic regression on the newest reading and on the flattened window, gradient
boosting on the flattened window. Unsupervised (fitted to the normal training windows only, as
the statistical methods of anomaly detection are): Isolation Forest and the Local Outlier Factor
on the flattened window. Every baseline is trained on the labels (or normal windows) of the
train split, whatever target the networks are fitted to, and seeded.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator
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


def baselines(splits: Splits, seed: int = 42) -> Iterator[tuple[str, Callable[[], Trained]]]:
    """(label, fit) for each baseline; ``fit()`` trains it on the train split."""
    from sklearn.ensemble import HistGradientBoostingClassifier, IsolationForest
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import LocalOutlierFactor

    x, y = splits.train.x, splits.train.y
    normal = x[y == 0]

    def logistic(features: Callable[[np.ndarray], np.ndarray], label: str) -> Trained:
        model = LogisticRegression(max_iter=5_000, random_state=seed).fit(features(x), y)
        return _trained(label, model, features, _probability, model.coef_.size + 1)

    def boosting() -> Trained:
        model = HistGradientBoostingClassifier(random_state=seed).fit(_flat(x), y)
        return _trained(
            "gradient boosting, flattened window", model, _flat, _probability, _nodes(model)
        )

    def forest() -> Trained:
        model = IsolationForest(random_state=seed).fit(_flat(normal))
        return _trained(
            "Isolation Forest (normal windows only)", model, _flat, _outlier, _nodes(model)
        )

    def lof() -> Trained:
        rng = np.random.default_rng(seed)
        keep = np.sort(rng.choice(len(normal), min(len(normal), LOF_MOST), replace=False))
        model = LocalOutlierFactor(novelty=True).fit(_flat(normal[keep]))
        stored = int(_flat(normal[keep]).size)  # LOF's model is the windows it keeps
        return _trained("LOF (normal windows only)", model, _flat, _outlier, stored)

    yield (
        "logistic regression, newest reading",
        lambda: logistic(_newest, "logistic regression, newest reading"),
    )
    yield (
        "logistic regression, flattened window",
        lambda: logistic(_flat, "logistic regression, flattened window"),
    )
    yield "gradient boosting, flattened window", boosting
    yield "Isolation Forest", forest
    yield "LOF", lof
