from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from edgewatch.errors import DataError
from edgewatch.producers.cmapss import CHANNELS, FD001, load_fd001


def _raw(folder: Path, split: str) -> pd.DataFrame:
    return pd.read_csv(folder / "cmapss" / f"{split}_FD001.txt", sep=" ", header=None).dropna(
        axis=1, how="all"
    )


@pytest.mark.parametrize(("split", "rows"), [("train", 20_631), ("test", 13_096)])
def test_record_counts_units_and_channels(shared_data: Path, split: str, rows: int) -> None:
    records = list(FD001(shared_data / "cmapss", split).records())  # type: ignore[arg-type]
    assert len(records) == rows
    assert {r.asset for r in records} == {FD001.asset_id(split, u) for u in range(1, 101)}
    assert all(list(r.values) == CHANNELS for r in records)
    assert len(CHANNELS) == 17


def test_train_labels_are_the_last_31_cycles_of_each_unit(shared_data: Path) -> None:
    frame = load_fd001(shared_data / "cmapss", "train")
    assert (frame.groupby("unit")["label"].sum() == 31).all()
    last = frame.groupby("unit")["cycle"].transform("max")
    np.testing.assert_array_equal(frame["label"], (last - frame["cycle"] <= 30).astype(int))


def test_test_labels_use_the_official_rul(shared_data: Path) -> None:
    raw = _raw(shared_data, "test")
    final = np.loadtxt(shared_data / "cmapss" / "RUL_FD001.txt", dtype=int)
    frame = load_fd001(shared_data / "cmapss", "test")
    for unit, group in frame.groupby("unit"):
        cycles = len(raw[raw[0] == unit])
        expected = int(np.clip(31 - final[int(unit) - 1], 0, cycles))  # RUL at last cycle <= 30
        assert group["label"].sum() == expected, unit
    assert frame["label"].sum() == 332


def test_unit_boundaries_time_and_order(shared_data: Path) -> None:
    reader = FD001(shared_data / "cmapss", "train", cycle_ms=250)
    records = list(reader.records())
    assert [r.ts for r in records] == sorted(r.ts for r in records)
    by_unit: dict[str, list[int]] = {}
    for r in records:
        by_unit.setdefault(r.asset, []).append(r.seq)
        assert r.ts == reader.start_ms + r.seq * 250
    raw = _raw(shared_data, "train")
    for unit, seqs in by_unit.items():
        assert seqs == list(range(len(seqs)))  # each unit starts again at 0, no gaps
        assert len(seqs) == (raw[0] == int(unit[-3:])).sum()
    first = records[0]
    assert first.values["s2"] == raw.iloc[0, 6]  # unit 1, cycle 1, sensor 2


def test_missing_folder_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="datasets fetch fd001"):
        list(FD001(tmp_path).records())
