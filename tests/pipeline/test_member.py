"""The processing loop on in-memory doubles (the Kafka path is covered by integration tests)."""

from __future__ import annotations

import threading
import time

import orjson
import pytest

from edgewatch.errors import BrokerError
from edgewatch.records import SensorRecord, encode_record
from edgewatch.transport import MemoryBroker
from operators import Chain, EWZScore, PerAsset, Threshold
from pipeline.member import Member, Topics
from pipeline.metrics import PipelineMetrics

TOPICS = Topics("in", "det", "dlq")


def _member(broker: MemoryBroker, emit_all: bool = False, threshold: float = 3.0) -> Member:
    scorer = PerAsset(lambda: EWZScore(0.1, warmup=5))
    return Member(
        broker.source(["in"], "g"),
        broker.sink(),
        Chain(scorer, Threshold(threshold)),
        topics=TOPICS,
        metrics=PipelineMetrics(),
        model="ewzscore",
        model_version="1",
        threshold=threshold,
        emit_all=emit_all,
        wall_ms=lambda: 10_000,
        tracked_assets=scorer.__len__,
    )


def _feed(broker: MemoryBroker, n: int, spike_at: int | None = None) -> None:
    for seq in range(n):
        value = 100.0 if seq == spike_at else float(seq % 3)
        record = SensorRecord("pump", 1_000 + seq, seq, {"p": value}, "test", int(seq == spike_at))
        broker.append("in", b"pump", encode_record(record))


def test_decisions_become_detections_and_offsets_are_committed() -> None:
    broker = MemoryBroker(now_ms=lambda: 9_990)
    _feed(broker, 40, spike_at=30)
    member = _member(broker)
    assert member.step(max_records=100) == 40
    (detection,) = [orjson.loads(m.value or b"") for m in broker.messages("det")]
    assert (detection["asset"], detection["seq"], detection["decision"]) == ("pump", 30, True)
    assert broker.committed[("g", ("in", 0))] == 40
    assert member.confusion.tp == 1
    assert member.metrics.end_to_end.percentile(50) == pytest.approx(0.010, rel=0.03)


def test_emit_all_writes_one_detection_per_valid_record() -> None:
    broker = MemoryBroker()
    _feed(broker, 25)
    _member(broker, emit_all=True).step(max_records=100)
    seqs = [orjson.loads(m.value or b"")["seq"] for m in broker.messages("det")]
    assert seqs == list(range(25))


def test_bad_messages_go_to_the_dlq_and_the_rest_are_scored() -> None:
    broker = MemoryBroker()
    _feed(broker, 10)
    broker.append("in", b"pump", b"not json")
    broker.append("in", b"other", encode_record(SensorRecord("pump", 1, 99, {"p": 1.0}, "t")))
    broker.append("in", b"pump", b'{"v": 1, "asset": "pump"}')
    member = _member(broker, emit_all=True)
    member.step(max_records=100)
    reasons = [orjson.loads(m.value or b"")["reason"] for m in broker.messages("dlq")]
    assert reasons == ["not_json", "bad_key", "missing_field"]
    assert len(broker.messages("det")) == 10
    assert member.invalid == 3
    assert member.consumed == 13
    assert broker.committed[("g", ("in", 0))] == 13


def test_no_commit_when_outputs_are_not_acknowledged() -> None:
    broker = MemoryBroker()
    _feed(broker, 10)
    member = _member(broker)
    member.sink.fail = True  # type: ignore[attr-defined]
    with pytest.raises(BrokerError):
        member.step(max_records=100)
    assert ("g", ("in", 0)) not in broker.committed


def test_run_processes_until_stopped_and_reports_lag() -> None:
    broker = MemoryBroker()
    _feed(broker, 500)
    member = _member(broker)
    stop = threading.Event()
    worker = threading.Thread(target=member.run, args=(stop, 10, 64))
    worker.start()
    deadline = time.monotonic() + 10
    while member.consumed < 500 and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    worker.join(timeout=5)
    assert not worker.is_alive()
    assert member.consumed == 500
    assert broker.committed[("g", ("in", 0))] == 500
    assert member.source.lag() == 0
