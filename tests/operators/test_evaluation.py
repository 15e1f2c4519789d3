from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from edgewatch.operators.base import Scored
from edgewatch.operators.evaluation import Confusion
from edgewatch.records import SensorRecord


@given(st.lists(st.tuples(st.sampled_from([None, 0, 1]), st.booleans()), max_size=80))
def test_counts_match_numpy(pairs: list[tuple[int | None, bool]]) -> None:
    batch = [
        Scored(SensorRecord("a", i, i, {"v": 0.0}, "t", label), 0.0, decision)
        for i, (label, decision) in enumerate(pairs)
    ]
    confusion = Confusion()
    confusion.update(batch[: len(batch) // 2])
    confusion.update(batch[len(batch) // 2 :])
    labelled = [(y, d) for y, d in pairs if y is not None]
    y = np.array([p[0] for p in labelled], dtype=bool)
    d = np.array([p[1] for p in labelled], dtype=bool)
    assert (confusion.tp, confusion.fp, confusion.tn, confusion.fn) == (
        int((y & d).sum()),
        int((~y & d).sum()),
        int((~y & ~d).sum()),
        int((y & ~d).sum()),
    )
    tp, fp, fn = confusion.tp, confusion.fp, confusion.fn
    assert confusion.precision == (tp / (tp + fp) if tp + fp else 0.0)
    assert confusion.recall == (tp / (tp + fn) if tp + fn else 0.0)
    if tp:
        assert np.isclose(confusion.f1, 2 * tp / (2 * tp + fp + fn))


def test_event_recall_counts_segments_and_delays() -> None:
    from edgewatch.operators.evaluation import EventRecall

    labels = [0, 1, 1, 1, 0, 0, 1, 1, 0]
    decisions = [1, 0, 0, 1, 0, 0, 0, 0, 0]
    batch = [
        Scored(SensorRecord("a", 100 * i, i, {"x": 1.0}, "t", label), 0.0, bool(d))
        for i, (label, d) in enumerate(zip(labels, decisions, strict=True))
    ]
    events = EventRecall()
    assert events.update(batch) == [200, None]  # detected 200 ms in; the second one missed
    assert (events.detected, events.missed, events.recall) == (1, 1, 0.5)


def test_event_recall_finish_counts_segments_open_at_the_end() -> None:
    from edgewatch.operators.evaluation import EventRecall

    batch = [
        Scored(SensorRecord(asset, 100 * i, i, {"x": 1.0}, "t", 1), 0.0, asset == "a" and i == 2)
        for i in range(4)
        for asset in ("a", "b")
    ]
    events = EventRecall()
    assert events.update(batch) == []  # both segments still open
    assert sorted(events.finish(), key=str) == [200, None]
    assert (events.detected, events.missed) == (1, 1)
    assert events.finish() == []
