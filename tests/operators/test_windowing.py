from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

from edgewatch.operators.windowing import CountWindows, WindowBatch
from edgewatch.records import SensorRecord


def _records(items: list[tuple[str, float]]) -> list[SensorRecord]:
    seqs: dict[str, int] = {}
    out = []
    for asset, v in items:
        seq = seqs.get(asset, 0)
        seqs[asset] = seq + 1
        out.append(SensorRecord(asset, seq, seq, {"a": v, "b": -2 * v}, "t"))
    return out


@given(
    st.lists(st.tuples(st.sampled_from("xyz"), st.floats(-1e3, 1e3)), max_size=80),
    st.integers(1, 6),
    st.integers(1, 3),
)
def test_windows_equal_a_numpy_sliding_window_per_asset(
    items: list[tuple[str, float]], seq_len: int, stride: int
) -> None:
    records = _records(items)
    op = CountWindows(["a", "b"], seq_len, stride)
    windows = []
    for start in range(0, len(records), 7):  # any batching gives the same windows
        windows += op.process(records[start : start + 7])
    for asset in "xyz":
        series = np.array([[r.values["a"], r.values["b"]] for r in records if r.asset == asset])
        got = [w.values for w in windows if w.record.asset == asset]
        if len(series) < seq_len:
            assert got == []
            continue
        expected = sliding_window_view(series, seq_len, axis=0).transpose(0, 2, 1)[::stride]
        np.testing.assert_array_equal(np.array(got), expected)
        assert [w.record.seq for w in windows if w.record.asset == asset] == list(
            range(seq_len - 1, len(series), stride)
        )
    assert op.warming + len(windows) == len(records)


def test_missing_channels_carry_forward_and_unseen_ones_wait() -> None:
    op = CountWindows(["a", "b"], seq_len=2)
    batch = [
        SensorRecord("p", 0, 0, {"a": 1.0}, "t"),  # b never seen yet: warm-up
        SensorRecord("p", 1, 1, {"a": 2.0, "b": 5.0}, "t"),
        SensorRecord("p", 2, 2, {"a": 3.0}, "t"),  # b carried forward
    ]
    (window,) = op.process(batch)
    np.testing.assert_array_equal(window.values, [[2.0, 5.0], [3.0, 5.0]])
    assert op.warming == 2


def test_pad_start_emits_from_the_first_reading() -> None:
    op = CountWindows(["a"], seq_len=3, pad_start=True)
    out = op.process([SensorRecord("p", i, i, {"a": float(i + 1)}, "t") for i in range(3)])
    np.testing.assert_array_equal([w.values[:, 0] for w in out], [[1, 1, 1], [1, 1, 2], [1, 2, 3]])


def test_bad_parameters() -> None:
    with pytest.raises(ValueError, match="seq_len/stride"):
        CountWindows(["a"], seq_len=0)
    with pytest.raises(ValueError, match="channels"):
        CountWindows([], seq_len=3)


@given(st.lists(st.tuples(st.sampled_from("xy"), st.floats(-1e3, 1e3)), max_size=30))
def test_a_window_batch_round_trips_through_its_windows(items: list[tuple[str, float]]) -> None:
    batch = CountWindows(["a", "b"], seq_len=2).process(_records(items))
    batch.prefilter = np.arange(len(batch), dtype=np.float64)
    batch.woken = np.arange(len(batch)) % 2 == 0
    again = WindowBatch.of(list(batch), shape=(2, 2))
    assert again.records == batch.records
    np.testing.assert_array_equal(again.values, batch.values)
    np.testing.assert_array_equal(again.woken, batch.woken)
    if len(batch):
        assert again.prefilter is not None
        assert again.prefilter.tolist() == list(range(len(batch)))
    assert not again.audit.any()


def _with(asset: str, seq: int, values: dict[str, float]) -> SensorRecord:
    return SensorRecord(asset, seq, seq, values, "t")


def test_an_asset_lacking_a_model_channel_is_unfit_not_warming_forever() -> None:
    windows = CountWindows(["a", "b"], seq_len=3)
    fits = [_with("ok", s, {"a": 1.0, "b": 2.0}) for s in range(10)]
    lacks = [_with("half", s, {"a": 1.0, "extra": 5.0}) for s in range(10)]
    none = [_with("other", s, {"rpm": 1.0}) for s in range(4)]
    out = windows.process(fits + lacks + none)
    assert {r.asset for r in out.records} == {"ok"}
    # 3 records of grace each (a channel may come in a record of its own), the rest unfit
    assert windows.unfit == (10 - 3) + (4 - 3)
    assert windows.warming == 2 + 3 + 3  # "ok" warms up 2; the others' grace
    assert windows.take_unfit() == {"half": ["b"], "other": ["a", "b"]}
    assert windows.take_unfit() == {}  # reported once
    windows.process([_with("half", 10, {"a": 1.0})])
    assert windows.take_unfit() == {}
    assert windows.unfit == 9


@given(st.lists(st.tuples(st.sampled_from("xy"), st.sampled_from(["a", "b", "ab"])), max_size=60))
def test_every_record_is_a_window_warm_up_or_unfit(items: list[tuple[str, str]]) -> None:
    windows = CountWindows(["a", "b"], seq_len=3)
    seqs: dict[str, int] = {}
    records = []
    for asset, channels in items:
        seqs[asset] = seqs.get(asset, -1) + 1
        records.append(_with(asset, seqs[asset], dict.fromkeys(channels, 1.0)))
    out = windows.process(records)
    assert len(out) + windows.warming + windows.unfit == len(records)
