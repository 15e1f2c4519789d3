from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from edgewatch.errors import DataError
from edgewatch.producers.metropt import CHANNELS, FILE_NAME, metropt

SAMPLE = "MetroPT3(AirCompressor).sample1000.csv"


def test_real_sample(shared_data: Path) -> None:
    path = shared_data / "metropt3" / SAMPLE
    records = list(metropt(path, chunk_rows=300).records())  # several chunks
    assert len(records) == 1_000
    raw = pd.read_csv(path)
    assert all(tuple(r.values) == CHANNELS for r in records)
    assert len(CHANNELS) == 15
    assert "DV_eletric" in CHANNELS
    expected_ts = (
        pd.to_datetime(raw["timestamp"]).to_numpy().astype("datetime64[ms]").astype(np.int64)
    )
    assert [r.ts for r in records] == expected_ts.tolist()
    assert records[0].ts == 1_580_515_200_000  # 2020-02-01 00:00:00 UTC
    assert [r.seq for r in records] == list(range(1_000))
    assert records[5].values["Oil_temperature"] == raw["Oil_temperature"][5]
    assert {r.label for r in records} == {0}  # the sample holds no failure
    assert {r.asset for r in records} == {"metropt3-apu"}


def _metropt_file(path: Path, stamps: list[str]) -> Path:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(len(stamps), len(CHANNELS))), columns=list(CHANNELS))
    frame.insert(0, "timestamp", stamps)
    frame.index = frame.index * 10
    frame.to_csv(path)  # unnamed index column first, as in the official file
    return path


def test_labels_flip_exactly_at_the_window_bounds(tmp_path: Path) -> None:
    # the first official window: 2020-04-18 00:00:00 .. 2020-04-18 23:59:00, both inclusive
    stamps = [
        "2020-04-17 23:59:59", "2020-04-18 00:00:00", "2020-04-18 12:00:00",
        "2020-04-18 23:59:00", "2020-04-18 23:59:01", "2020-05-01 00:00:00",
    ]  # fmt: skip
    records = list(metropt(_metropt_file(tmp_path / FILE_NAME, stamps)).records())
    assert [r.label for r in records] == [0, 1, 1, 1, 0, 0]


def test_folder_path_and_custom_windows(tmp_path: Path) -> None:
    _metropt_file(tmp_path / FILE_NAME, ["2021-01-01 00:00:00", "2021-01-01 00:00:10"])
    windows = tmp_path / "w.json"
    windows.write_text('[["2021-01-01 00:00:05", "2021-01-01 00:00:10"]]')
    assert [r.label for r in metropt(tmp_path, windows=windows).records()] == [0, 1]


def test_missing_file_points_to_fetch(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="datasets fetch metropt"):
        metropt(tmp_path)
