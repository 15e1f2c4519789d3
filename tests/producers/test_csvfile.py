"""Table-driven edge cases of the generic CSV reader."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from edgewatch.errors import DataError
from edgewatch.producers.csvfile import CsvFolder, CsvSource, open_csv

T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z


def _write(tmp_path: Path, text: str, name: str = "plant.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


CASES: list[
    tuple[str, str, dict[str, Any], list[tuple[str, int, dict[str, float], int | None]]]
] = [
    (
        "iso timestamps, comma, defaults",
        "timestamp,temp,rpm\n2024-01-01T00:00:00Z,1.5,900\n2024-01-01 00:00:01,2,901\n",
        {},
        [
            ("plant", T0, {"temp": 1.5, "rpm": 900.0}, None),
            ("plant", T0 + 1000, {"temp": 2.0, "rpm": 901.0}, None),
        ],
    ),
    (
        "semicolon, epoch seconds, fractional",
        "time;temp\n1704067200;1\n1704067200.5;2\n",
        {},
        [("plant", T0, {"temp": 1.0}, None), ("plant", T0 + 500, {"temp": 2.0}, None)],
    ),
    (
        "tab, epoch milliseconds",
        "ts\ttemp\n1704067200000\t1\n1704067200250\t2\n",
        {},
        [("plant", T0, {"temp": 1.0}, None), ("plant", T0 + 250, {"temp": 2.0}, None)],
    ),
    (
        "pipe, named timestamp column with an override of the unit",
        "when|temp\n1704067200|1\n",
        {"timestamp_column": "when", "timestamp_unit": "s"},
        [("plant", T0, {"temp": 1.0}, None)],
    ),
    (
        "asset column, label column, chosen value columns",
        "Date,site,temp,rpm,anomaly\n2024-01-01,a,1,5,0\n2024-01-01,b,2,6,1\n2024-01-01,a,3,7,1\n",
        {"asset_column": "site", "label_column": "anomaly", "columns": ("temp",)},
        [("a", T0, {"temp": 1.0}, 0), ("b", T0, {"temp": 2.0}, 1), ("a", T0, {"temp": 3.0}, 1)],
    ),
    (
        "constant asset, empty cell leaves the channel out, unnamed index ignored",
        ",timestamp,temp,rpm\n0,2024-01-01T00:00:00,1,\n1,2024-01-01T00:00:01,,7\n",
        {"asset": "press-7"},
        [("press-7", T0, {"temp": 1.0}, None), ("press-7", T0 + 1000, {"rpm": 7.0}, None)],
    ),
]


@pytest.mark.parametrize(
    ("text", "kwargs", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_reads(
    tmp_path: Path, text: str, kwargs: dict[str, Any], expected: list[tuple[Any, ...]]
) -> None:
    records = list(CsvSource(_write(tmp_path, text), **kwargs).records())
    assert [(r.asset, r.ts, r.values, r.label) for r in records] == expected
    seqs: dict[str, int] = {}
    for r in records:  # seq counts per asset in file order
        assert r.seq == seqs.get(r.asset, 0)
        seqs[r.asset] = r.seq + 1


@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_label_windows_from_json_or_csv(tmp_path: Path, suffix: str) -> None:
    path = _write(tmp_path, "ts,temp\n" + "".join(f"{T0 + i * 1000},{i}\n" for i in range(6)))
    windows = tmp_path / f"windows{suffix}"
    if suffix == ".json":
        windows.write_text(
            f'[[{T0 + 1000}, {T0 + 2000}], ["2024-01-01T00:00:05Z", "2024-01-01T00:00:05Z"]]'
        )
    else:
        windows.write_text(
            "start,end,note\n2024-01-01T00:00:01,2024-01-01T00:00:02,x\n1704067205,1704067205,y\n"
        )
    labels = [r.label for r in CsvSource(path, windows=windows).records()]
    assert labels == [0, 1, 1, 0, 0, 1]


ERRORS = [
    (
        "unparseable timestamp",
        "timestamp,temp\n2024-01-01,1\nyesterday,2\n",
        {},
        r"plant.csv, line 3, column 'timestamp': cannot parse timestamp 'yesterday'",
    ),
    (
        "non-numeric value",
        "ts,temp,rpm\n1704067200,1,2\n1704067201,1,fast\n",
        {},
        r"line 3, column 'rpm': value 'fast' is not a number",
    ),
    (
        "non-numeric chosen value",
        "ts,temp,site\n1704067200,1,a\n",
        {"columns": ("site",)},
        r"line 2, column 'site': value 'a' is not a number",
    ),
    (
        "missing chosen column",
        "ts,temp\n1704067200,1\n",
        {"columns": ("pressure",)},
        r"line 1: no column 'pressure'; the header has \['ts', 'temp'\]",
    ),
    (
        "missing timestamp column",
        "when,temp\n1,2\n",
        {},
        r"no timestamp column found .* --timestamp-column",
    ),
    ("missing label column", "ts,temp\n1704067200,1\n", {"label_column": "y"}, r"no column 'y'"),
    (
        "label not 0/1",
        "ts,temp,y\n1704067200,1,2\n",
        {"label_column": "y"},
        r"line 2, column 'y': label must be 0 or 1; got 2",
    ),
    (
        "epoch text",
        "ts,temp\n1704067200,1\nsoon,2\n",
        {"timestamp_unit": "s"},
        r"line 3, column 'ts': timestamp 'soon' is not an epoch number",
    ),
    (
        "row without values",
        "ts,temp\n1704067200,\n",
        {"columns": ("temp",)},
        r"line 2: every value column is empty",
    ),
    (
        "infinite value",
        "ts,temp\n1704067200,inf\n",
        {},
        r"line 2, column 'temp': value is infinite",
    ),
]


@pytest.mark.parametrize(
    ("text", "kwargs", "message"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS]
)
def test_errors_name_file_line_and_column(
    tmp_path: Path, text: str, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(DataError, match=message):
        list(CsvSource(_write(tmp_path, text), **kwargs).records())


def test_errors_in_later_chunks_report_the_file_line(tmp_path: Path) -> None:
    rows = "".join(f"{T0 + i},{i}\n" for i in range(25)) + f"{T0 + 99},oops\n"
    with pytest.raises(DataError, match="line 27, column 'temp'"):
        list(CsvSource(_write(tmp_path, "ts,temp\n" + rows), chunk_rows=7).records())


def test_total_counts_data_rows(tmp_path: Path) -> None:
    assert CsvSource(_write(tmp_path, "ts,temp\n1,2\n3,4\n")).total() == 2


def test_label_named_and_ignored_columns_never_become_channels(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "timestamp,temp,anomaly,Is_Anomaly,mode,rpm\n"
        "1704067200,1,0,0,3,900\n1704067201,2,1,1,3,901\n",
    )
    records = list(CsvSource(path, ignore_columns=("mode",)).records())
    assert [r.values for r in records] == [
        {"temp": 1.0, "rpm": 900.0},
        {"temp": 2.0, "rpm": 901.0},
    ]


def test_a_folder_replays_every_csv_with_assets_named_by_relative_path(tmp_path: Path) -> None:
    for folder, start in (("a", 0), ("b", 1)):
        (tmp_path / folder).mkdir()
        rows = "".join(f"{1704067200 + start + 2 * i},{i}\n" for i in range(3))
        _write(tmp_path / folder, "timestamp,value\n" + rows, "1.csv")
    source = open_csv(tmp_path)
    assert isinstance(source, CsvFolder)
    records = list(source.records())
    assert source.total() == 6
    assert [(r.asset, r.seq) for r in records] == [
        ("a/1", 0), ("b/1", 0), ("a/1", 1), ("b/1", 1), ("a/1", 2), ("b/1", 2),
    ]  # fmt: skip
    assert [r.ts for r in records] == sorted(r.ts for r in records)


def test_an_empty_folder_says_so(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"no \.csv file"):
        list(open_csv(tmp_path).records())
