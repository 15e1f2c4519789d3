from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgewatch.errors import DataError
from edgewatch.producers.tables import count_lines, in_windows, load_windows

pairs = st.lists(st.tuples(st.integers(0, 1000), st.integers(0, 200)), max_size=8)


@given(pairs, st.lists(st.integers(-10, 1300), max_size=50))
def test_in_windows_matches_brute_force(raw: list[tuple[int, int]], stamps: list[int]) -> None:
    windows = np.array([(s, s + w) for s, w in raw], dtype=np.int64).reshape(-1, 2)
    windows = windows[np.argsort(windows[:, 0], kind="stable")]
    ts = np.array(stamps, dtype=np.int64)
    expected = [int(any(s <= t <= e for s, e in windows.tolist())) for t in stamps]
    assert in_windows(ts, windows).tolist() == expected


def test_backwards_window_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "w.csv"
    path.write_text("start,end\n2024-01-02,2024-01-01\n")
    with pytest.raises(DataError, match="line 2, column 'end': window ends before it starts"):
        load_windows(path)


def test_bad_json_windows(tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    path.write_text('{"start": 1}')
    with pytest.raises(DataError, match="list of \\[start, end\\] pairs"):
        load_windows(path)


@pytest.mark.parametrize(
    ("text", "lines"),
    [(b"", 0), (b"a\n", 1), (b"a", 1), (b"h\n1\n2", 3), (b"h\n1\n2\n", 3)],
)
def test_count_lines_counts_a_last_line_without_newline(
    tmp_path: Path, text: bytes, lines: int
) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(text)
    assert count_lines(path, block=2) == lines
