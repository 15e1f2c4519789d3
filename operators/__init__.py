"""Pure, broker-free stream operators and per-asset state."""

from operators.base import Chain, Detector, Operator, Scored
from operators.evaluation import Confusion
from operators.keyed import PerAsset
from operators.threshold import Threshold
from operators.zscore import EWZScore

__all__ = [
    "Chain",
    "Confusion",
    "Detector",
    "EWZScore",
    "Operator",
    "PerAsset",
    "Scored",
    "Threshold",
]
