from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgewatch.operators.base import Scored
from edgewatch.operators.evaluation import Confusion, EarlyDetection
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


def test_early_detection_score_bounds_and_penalties() -> None:

    labels = [0] * 1_000 + [1] * 100 + [0] * 900
    none = EarlyDetection()
    none.add(labels, [False] * 2_000)
    assert none.score == 0.0
    assert (none.windows, none.detected) == (1, 0)

    perfect = EarlyDetection()
    perfect.add(labels, [i == 1_000 for i in range(2_000)])
    assert perfect.score == pytest.approx(100.0)

    late = EarlyDetection()
    late.add(labels, [i == 1_090 for i in range(2_000)])
    assert 50.0 < late.score < perfect.score  # detected, later: less reward

    noisy = EarlyDetection()
    noisy.add(labels, [i in (1_000, 1_001, 500, 1_500) for i in range(2_000)])
    assert noisy.false_alarms == 2  # the second hit in the window is free
    assert noisy.score < perfect.score
    early = EarlyDetection()
    early.add(labels, [i in (100, 1_000) for i in range(2_000)])  # 100 is in the probation
    assert early.false_alarms == 0


def test_early_detection_false_alarm_right_after_a_window_costs_less() -> None:

    labels = [0] * 1_000 + [1] * 100 + [0] * 900
    near, far = EarlyDetection(), EarlyDetection()
    near.add(labels, [i in (1_000, 1_105) for i in range(2_000)])
    far.add(labels, [i in (1_000, 1_900) for i in range(2_000)])
    assert near.score > far.score
