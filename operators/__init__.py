"""Pure, broker-free stream operators and per-asset state."""

from edgewatch.operators.base import Chain, Detector, Operator, Scored
from edgewatch.operators.cascade import Cascade
from edgewatch.operators.evaluation import Confusion, EventRecall
from edgewatch.operators.explain import Explain
from edgewatch.operators.gate import Gate
from edgewatch.operators.incidents import IncidentTracker
from edgewatch.operators.keyed import PerAsset
from edgewatch.operators.prefilter import PREFILTERS, Prefilter, make_detector
from edgewatch.operators.scoring import CardScaler, ModelScorer
from edgewatch.operators.sequence import SequenceGuard
from edgewatch.operators.threshold import Threshold
from edgewatch.operators.timewindows import EventTimeWindows, TimeWindow
from edgewatch.operators.windowing import CountWindows, Window, WindowBatch
from edgewatch.operators.zscore import EWZScore

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
