from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgewatch.errors import ConfigError
from edgewatch.operators.timewindows import EventTimeWindows
from edgewatch.records import SensorRecord


def _r(asset: str, ts: int, seq: int = 0, value: float = 1.0) -> SensorRecord:
    return SensorRecord(asset, ts, seq, {"x": value}, "t")


@given(st.lists(st.tuples(st.sampled_from("ab"), st.integers(0, 500)), max_size=60))
def test_in_order_tumbling_windows_equal_a_pandas_groupby(items: list[tuple[str, int]]) -> None:
    records = [
        _r(a, ts, i, float(i)) for i, (a, ts) in enumerate(sorted(items, key=lambda t: t[1]))
    ]
    op = EventTimeWindows(size_ms=50, grace_ms=0)
    got = {(w.asset, w.start_ms): [r.seq for r in w.records] for w in op.process(records)}
    assert op.late_count == 0
    if not records:
        return
    frame = pd.DataFrame({"asset": [r.asset for r in records], "ts": [r.ts for r in records]})
    frame["seq"] = [r.seq for r in records]
    frame["start"] = frame["ts"] // 50 * 50
    watermark = frame.groupby("asset")["ts"].max()
    closed = frame[frame["start"] + 50 <= frame["asset"].map(watermark)]
    want = {k: list(g["seq"]) for k, g in closed.groupby(["asset", "start"])}
    assert got == want


@given(st.lists(st.integers(0, 300), max_size=60), st.integers(0, 40))
def test_every_record_is_windowed_or_late_never_dropped(stamps: list[int], grace: int) -> None:
    op = EventTimeWindows(size_ms=30, grace_ms=grace)  # tumbling: one window per record
    windows = op.process([_r("a", ts, i) for i, ts in enumerate(stamps)])
    open_windows = [w for s in op.states.values() for w in s.open.values()]
    placed = [r.seq for w in windows + open_windows for r in w.records]
    late = [r.seq for r in op.take_late()]
    assert sorted(placed + late) == list(range(len(stamps)))
    assert op.late_count == len(late)
    assert op.take_late() == []


def test_hopping_windows_overlap_and_grace_admits_slightly_late_records() -> None:
    op = EventTimeWindows(size_ms=100, hop_ms=50, grace_ms=20)
    out = op.process([_r("a", 10, 0), _r("a", 60, 1), _r("a", 115, 2), _r("a", 95, 3)])
    # watermark 115 - 20 = 95 closes [-50, 50) only, so ts 95 is still on time
    assert [(w.start_ms, [r.seq for r in w.records]) for w in out] == [(-50, [0])]
    out = op.process([_r("a", 200, 4), _r("a", 20, 5)])
    assert [(w.start_ms, [r.seq for r in w.records]) for w in out] == [
        (0, [0, 1, 3]),
        (50, [1, 2, 3]),
    ]
    assert [r.seq for r in op.take_late()] == [5]


def test_bad_parameters() -> None:
    with pytest.raises(ConfigError, match="hop_ms"):
        EventTimeWindows(size_ms=10, hop_ms=20)
