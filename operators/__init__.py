"""Pure, broker-free stream operators and per-asset state."""

from operators.base import Chain, Detector, Operator, Scored
from operators.evaluation import Confusion
from operators.keyed import PerAsset
from operators.scoring import CardScaler, ModelScorer
from operators.threshold import Threshold
from operators.windowing import CountWindows, Window
from operators.zscore import EWZScore

__all__ = [
    "CardScaler",
    "Chain",
    "Confusion",
    "CountWindows",
    "Detector",
    "EWZScore",
    "ModelScorer",
    "Operator",
    "PerAsset",
    "Scored",
    "Threshold",
    "Window",
]
