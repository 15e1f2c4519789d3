"""Pure, broker-free stream operators and per-asset state."""

from operators.base import Chain, Detector, Operator, Scored
from operators.cascade import Cascade
from operators.evaluation import Confusion, EventRecall
from operators.explain import Explain
from operators.gate import Gate
from operators.incidents import IncidentTracker
from operators.keyed import PerAsset
from operators.prefilter import PREFILTERS, Prefilter, make_detector
from operators.scoring import CardScaler, ModelScorer
from operators.sequence import SequenceGuard
from operators.threshold import Threshold
from operators.timewindows import EventTimeWindows, TimeWindow
from operators.windowing import CountWindows, Window, WindowBatch
from operators.zscore import EWZScore

__all__ = [
    "PREFILTERS",
    "CardScaler",
    "Cascade",
    "Chain",
    "Confusion",
    "CountWindows",
    "Detector",
    "EWZScore",
    "EventRecall",
    "EventTimeWindows",
    "Explain",
    "Gate",
    "IncidentTracker",
    "ModelScorer",
    "Operator",
    "PerAsset",
    "Prefilter",
    "Scored",
    "SequenceGuard",
    "Threshold",
    "TimeWindow",
    "Window",
    "WindowBatch",
    "make_detector",
]
