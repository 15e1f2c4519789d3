"""Per-asset detector state as bytes, for changelog snapshots.

River keeps its statistics in objects whose state is reachable only through pickle, so the
prefilter's detectors travel as pickles. Unpickling runs code named by the data, so `load` only
resolves the classes the shipped detectors are made of (`ALLOWED`) and refuses any other: a
tampered snapshot raises `StateError` instead of running what it names.
"""

from __future__ import annotations

import base64
import binascii
import io
import pickle
from typing import Any

from edgewatch.errors import StateError

__all__ = ["ALLOWED", "dump", "load"]

#: (module, name) of every class a pickled prefilter detector may reference.
ALLOWED = frozenset(
    {
        ("builtins", "tuple"),
        ("collections", "defaultdict"),
        ("functools", "partial"),
        ("edgewatch.operators.prefilter", "GaussianChannels"),
        ("edgewatch.operators.prefilter", "HalfSpaceTreesDetector"),
        ("edgewatch.operators.zscore", "EWZScore"),
        ("random", "Random"),
        ("river.anomaly.gaussian", "GaussianScorer"),
        ("river.anomaly.hst", "HalfSpaceTrees"),
        ("river.proba.gaussian", "Gaussian"),
        ("river.stats.mean", "Mean"),
        ("river.stats.var", "Var"),
        ("river.tree.padded", "PaddedBranch"),
        ("river.tree.padded", "PaddedLeaf"),
    }
)


class _Allowed(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED:
            raise StateError(
                f"detector state names {module}.{name}, which is not a prefilter class; "
                "the snapshot was not written by edgewatch (or by a newer version): skip it"
            )
        return super().find_class(module, name)


def dump(detector: object) -> str:
    """``detector`` as text (base64 of its pickle), to sit in a JSON snapshot."""
    return base64.b64encode(pickle.dumps(detector, protocol=5)).decode("ascii")


def load(text: str) -> Any:
    """The detector `dump` wrote; `StateError` if it is corrupt or names other classes."""
    try:
        return _Allowed(io.BytesIO(base64.b64decode(text, validate=True))).load()
    except StateError:
        raise
    except (binascii.Error, TypeError, ValueError) as exc:
        raise StateError(f"detector state is not base64 text: {exc}") from exc
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # pickle raises many kinds; River's Rust code panics
        raise StateError(f"detector state is corrupt: {exc!r}") from exc
