from __future__ import annotations

import numpy as np

from edgewatch.operators.base import Scored
from edgewatch.operators.explain import Explain
from edgewatch.records import SensorRecord


def test_top_channels_are_the_most_deviant_newest_readings() -> None:
    values = np.array([[9.0, 9.0, 9.0], [0.5, -4.0, 2.0]])  # only the newest row counts
    item = Scored(SensorRecord("a", 0, 0, {"x": 1.0}, "t"), 0.9, True, values=values)
    quiet = Scored(SensorRecord("a", 1, 1, {"x": 1.0}, "t"), 0.1, False, values=values)
    Explain(["x", "y", "z"], top=2).process([item, quiet])
    assert item.top_channels == ("y", "z")
    assert quiet.top_channels == ()  # only anomalous decisions are explained
