"""`edgewatch bench` end to end on the embedded broker, at a small size."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]
EDGEWATCH = str(Path(sys.executable).with_name("edgewatch"))


def test_bench_writes_every_measurement(tmp_path: Path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    args = [EDGEWATCH, "bench", "--records", "3000", "--latency-seconds", "2", "--out", str(out)]
    done = subprocess.run(
        args, capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    text = out.read_text()
    for row in ("(a) ceiling", "(b) pipeline, default gate", "(b) pipeline, gate off",
                "(b) pipeline, prefilter gate at 30%", "(g) cascade CPU per record",
                "(c) hand-written", "(b)/(a)", "(a) + the output I/O of (b)", "(b)/(c)",
                "(d) end-to-end latency", "(d) floor", "(e) model per window",
                "(f) state per asset", "(f) its changelog snapshot",
                "(h) member processes"):  # fmt: skip
        assert f"| {row}" in text, row
    assert "| other client, kafka-python: (b) pipeline" in text  # beside the default confluent
