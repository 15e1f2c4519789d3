"""BENCHMARKS.md rendering: every measurement a row, each target with its verdict."""

from __future__ import annotations

from edgewatch.pipeline.bench.cascade import CascadeCost
from edgewatch.pipeline.bench.markdown import BenchReport, markdown
from edgewatch.pipeline.metrics.registry import STAGES


def _report(b: float, p99: float, other: bool = False) -> BenchReport:
    latency = {"p50": 10.0, "p95": 20.0, "p99": p99, "joined": 5_000.0, "log_append": 1.0}
    latency |= {f"member_p{q}": 2.0 * q for q in (50, 95, 99)}
    latency |= {f"{s}_p{q}": 1.0 for s in STAGES for q in (50, 99)}
    report = BenchReport(
        1_000, "x86_64, 3.11",
        rates={"a": 10_000.0, "a_io": 9_000.0, "b": b, "b_off": b, "b_gated": b, "c": 1_000.0},
        latency_ms=latency,
        transport_ms={"p50": 5.0, "p95": 8.0, "p99": 9.0},
        offered=b / 2,
        detections_per_record=0.125,
        model_us={"b1": 100.0, "b256": 10.0},
        cascade=[CascadeCost("off", 1, 100.0, 1.0), CascadeCost("sentinel", 1, 60.0, 0.2)],
    )  # fmt: skip
    if other:
        report.client, report.other_client = "confluent", "kafka-python"
        report.rates |= {"a_other": 20_000.0, "b_other": b / 2}
        report.latency_other_ms = latency
    return report


def test_targets_met_and_not_met() -> None:
    met = markdown(_report(b=8_000.0, p99=40.0))
    assert "| (b)/(a), target >= 0.7 | 0.80 (met) |" in met
    assert "| (b)/(c), target >= 5 | 8.0 (met) |" in met
    assert "p99 40.0 ms over 5,000 detections (met: p99 <= 50 ms)" in met
    assert "send its 0.125 detections per record, flush each batch | 9,000 records/s" in met
    assert "decode 0.0 µs / detect 0.0 µs / produce 0.0 µs / commit 0.0 µs / the rest 125.0" in met
    missed = markdown(_report(b=4_000.0, p99=60.0))
    assert "| (b)/(a), target >= 0.7 | 0.40 (NOT met) |" in missed
    assert "| (b)/(c), target >= 5 | 4.0 (NOT met) |" in missed
    assert "(NOT met: p99 <= 50 ms)" in missed


def test_other_client_rows_only_when_measured() -> None:
    assert "other client" not in markdown(_report(8_000.0, 40.0))
    text = markdown(_report(8_000.0, 40.0, other=True))
    assert "| (a) ceiling: consume + decode (confluent) | 10,000 records/s |" in text
    assert "| other client, kafka-python: (a) ceiling | 20,000 records/s |" in text
    assert "the default client's pipeline is 2.0x this" in text


def test_latency_says_which_clock_it_read() -> None:
    report = _report(8_000.0, 40.0)
    text = markdown(report)
    assert "append time (LogAppendTime: the broker's clock)" in text
    assert "p99 40.0 ms over 5,000 detections (met: p99 <= 50 ms)" in text
    assert "as the member saw it: record timestamp to acknowledged output | p50 100.0 ms" in text
    report.latency_ms["log_append"] = 0.0
    assert "it ignored LogAppendTime" in markdown(report)


def test_the_cascade_rows_say_what_the_gate_saves() -> None:
    text = markdown(_report(8_000.0, 40.0))
    assert "gate off, 1 record(s) per call | 100.0 µs, model woken for 100.0% of windows |" in text
    assert "gate sentinel, 1 record(s) per call | 60.0 µs, model woken for 20.0% of windows; " in (
        text
    )
    assert "40% less than gate off" in text


def test_the_peer_row_gives_the_median_in_round_ratio_in_one_table_cell() -> None:
    from edgewatch.pipeline.bench.peer import PeerRounds

    report = _report(8_000.0, 40.0)
    report.peer = PeerRounds(
        [80.0, 60.0, 90.0], [50.0, 50.0, 50.0], [20.0, 21.0, 22.0], 0.12, [9.0, 12.0, 10.0]
    )
    (row,) = [line for line in markdown(report).splitlines() if line.startswith("| (i)")]
    assert row.replace("\\|", "").count("|") == 3  # the |z| of the text does not split the cell
    assert "in-round ratio median 1.60x (rounds 1.60, 1.20, 1.80; met: >= 1.5x)" in row
    assert "12.0% of records" in row
    assert "(10.0 µs CPU per record), Quix 50 records/s (21.0 µs CPU per record)" in row


def test_the_member_cpu_per_record() -> None:
    report = _report(8_000.0, 40.0)
    report.cpu_us = 11.25
    assert "every thread (librdkafka's, the model's) | 11.2 µs |" in markdown(report)
