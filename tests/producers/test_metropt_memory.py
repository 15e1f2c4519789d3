"""MetroPT-3 at its real size (1,516,948 rows, ~218 MB) replays in bounded memory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from edgewatch.producers.metropt import CHANNELS, FILE_NAME

ROWS = 1_516_948
RSS_LIMIT_MB = 500

# VmHWM is this program's own peak: ru_maxrss would also count the pytest process it was
# spawned from (Linux keeps the high-water mark across vfork + exec).
_CHILD = """
import sys
from edgewatch.pipeline.cli.main import main
sys.argv = ["edgewatch", "replay", "metropt", "--path", sys.argv[1], "--dry-run"]
try:
    main()
finally:
    status = open("/proc/self/status").read().split("VmHWM:")[1].split()[0]
    print("maxrss_kb", status, file=sys.stderr)
"""


def _write_full_size(path: Path) -> None:
    rng = np.random.default_rng(0)
    start = pd.Timestamp("2020-02-01")
    with path.open("w") as out:
        for first in range(0, ROWS, 200_000):
            n = min(200_000, ROWS - first)
            index = np.arange(first, first + n)
            frame = pd.DataFrame(
                rng.normal(5, 2, (n, len(CHANNELS))).round(4), columns=list(CHANNELS)
            )
            frame.insert(
                0,
                "timestamp",
                (start + pd.to_timedelta(index * 10, unit="s")).strftime("%Y-%m-%d %H:%M:%S"),
            )
            frame.index = index * 10
            frame.to_csv(out, header=first == 0)


@pytest.mark.slow
def test_full_size_file_replays_under_500_mb(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    _write_full_size(path)
    assert path.stat().st_size > 150e6
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"sent {ROWS:,} records" in result.stderr
    rss_mb = int(result.stderr.rsplit("maxrss_kb", 1)[1].split()[0]) / 1024
    print(f"peak RSS {rss_mb:.0f} MB replaying {path.stat().st_size / 1e6:.0f} MB")
    assert rss_mb < RSS_LIMIT_MB
