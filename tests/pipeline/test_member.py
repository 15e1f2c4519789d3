"""The processing loop on in-memory doubles (the Kafka path is covered by integration tests)."""

from __future__ import annotations

import threading
import time

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgewatch.errors import BrokerError
from edgewatch.operators import Cascade, IncidentTracker
from edgewatch.operators.anystream import OnlineDetector
from edgewatch.operators.base import ModelInfo
from edgewatch.operators.online import ScorerParams
from edgewatch.operators.router import Route, Router
from edgewatch.pipeline.member import Member, Topics
from edgewatch.pipeline.metrics.registry import PipelineMetrics
from edgewatch.records import SensorRecord, encode_record
from edgewatch.transport import MemoryBroker

TOPICS = Topics("in", "det", "dlq", "inc")
#: A card for a 3-reading window of one channel; the "model" flags a newest reading beyond 50.
CARD = {
    "channels": ["p"],
    "seq_len": 3,
    "scaling": {"mode": "global", "mean": [0.0], "std": [1.0]},
    "threshold": 0.5,
}


def _spike_model(x: np.ndarray) -> np.ndarray:
    return (np.abs(x[:, -1, 0]) > 50).astype(np.float64)


def _member(
    broker: MemoryBroker, emit_all: bool = False, chunk: int = 256, **cascade: object
) -> Member:
    return Member(
        broker.source(["in"], "g"),
        broker.sink(),
        Cascade.from_card(CARD, _spike_model, **cascade),  # type: ignore[arg-type]
        topics=TOPICS,
        metrics=PipelineMetrics(),
        model="spike",
        model_version="1",
        threshold=0.5,
        incidents=IncidentTracker(k=1, m=1, quiet_ms=5),
        emit_all=emit_all,
        chunk=chunk,
        wall_ms=lambda: 10_000,
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
    assert detection["top_channels"] == ["p"]
    assert broker.committed[("g", ("in", 0))] == 40
    assert member.confusion.tp == 1
    assert member.warmup == 2  # seq 0 and 1 complete no 3-reading window
    assert member.events.detected == 1
    opened, resolved = [orjson.loads(m.value or b"") for m in broker.messages("inc")]
    assert (opened["kind"], resolved["kind"]) == ("opened", "resolved")
    assert opened["incident_id"] == resolved["incident_id"]
    assert member.metrics.end_to_end.percentile(50) == pytest.approx(0.010, rel=0.03)


@given(
    st.lists(
        st.one_of(
            st.tuples(st.sampled_from(["a", "b", "c"]), st.sampled_from([0.0, 1.0, 99.0])),
            st.just(("bad", 0.0)),  # not a record: dead-lettered wherever it falls
        ),
        max_size=60,
    ),
    st.integers(1, 9),
)
@settings(max_examples=30, deadline=None)
def test_chunking_a_batch_changes_no_output(items: list[tuple[str, float]], chunk: int) -> None:
    outputs = []
    for size in (chunk, 10_000):
        broker = MemoryBroker()
        seqs: dict[str, int] = {}
        for asset, value in items:
            if asset == "bad":
                broker.append("in", b"a", b"{not json")
                continue
            seq = seqs[asset] = seqs.get(asset, -1) + 1
            record = SensorRecord(asset, 1_000 + 10 * seq, seq, {"p": value}, "test")
            broker.append("in", asset.encode(), encode_record(record))
        _member(broker, emit_all=True, chunk=size).step(max_records=100)
        outputs.append({t: [m.value for m in broker.messages(t)] for t in ("det", "dlq", "inc")})
    assert outputs[0] == outputs[1]


def test_emit_all_writes_one_detection_per_valid_record() -> None:
    broker = MemoryBroker()
    _feed(broker, 25)
    _member(broker, emit_all=True).step(max_records=100)
    seqs = [orjson.loads(m.value or b"")["seq"] for m in broker.messages("det")]
    assert seqs == list(range(2, 25))  # one per window


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
    assert len(broker.messages("det")) == 8
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


def test_repeated_and_out_of_order_seq_go_to_the_dlq() -> None:
    broker = MemoryBroker()
    for seq in (0, 1, 2, 2, 1, 3, 5):
        record = SensorRecord("pump", 1_000 + seq, seq, {"p": 1.0}, "test")
        broker.append("in", b"pump", encode_record(record))
    member = _member(broker, emit_all=True)
    member.step(max_records=100)
    dlq = [orjson.loads(m.value or b"") for m in broker.messages("dlq")]
    assert [(d["reason"], d["field"]) for d in dlq] == [
        ("repeated_seq", "seq"),
        ("out_of_order", "seq"),
    ]
    assert [orjson.loads(m.value or b"")["seq"] for m in broker.messages("det")] == [2, 3, 5]
    assert member.metrics.gaps._value.get() == 1  # seq 4 never arrived


def test_assets_beyond_the_cap_go_to_the_dlq_and_the_member_keeps_going() -> None:
    broker = MemoryBroker()
    for seq in range(5):
        for asset in ("a", "b", "c"):  # "c" is one asset too many
            record = SensorRecord(asset, 1_000 + seq, seq, {"p": 1.0}, "test")
            broker.append("in", asset.encode(), encode_record(record))
    member = _member(broker, emit_all=True, wake_rate=0.3)  # the gate on, as in the report
    member.max_assets = 2
    member.step(max_records=100)
    dlq = [orjson.loads(m.value or b"") for m in broker.messages("dlq")]
    assert [d["reason"] for d in dlq] == ["too_many_assets"] * 5
    assert {orjson.loads(m.value or b"")["asset"] for m in broker.messages("det")} == {"a", "b"}
    member.guard.evict(["a"])  # a partition moved away: room for a new asset again
    record = SensorRecord("c", 2_000, 5, {"p": 1.0}, "test")
    broker.append("in", b"c", encode_record(record))
    member.step(max_records=100)
    assert len(broker.messages("dlq")) == 5


def test_an_asset_the_model_does_not_fit_is_named_once_and_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = MemoryBroker()
    for seq in range(20):
        record = SensorRecord("rig-7", 1_000 + seq, seq, {"temp": 1.0, "rpm": 2.0}, "plant")
        broker.append("in", b"rig-7", encode_record(record))
    member = _member(broker, emit_all=True)
    online = OnlineDetector(ScorerParams(calibration=400))
    member.detector = Router([Route(ModelInfo("spike", "1", 0.5), member.detector)], online)
    with caplog.at_level("WARNING"):
        member.step(max_records=10)
        member.step(max_records=10)
    warnings = [r.getMessage() for r in caplog.records if "does not fit" in r.getMessage()]
    assert len(warnings) == 1
    assert "asset='rig-7' does not fit model spike" in warnings[0]
    assert "lacks channel(s) p;" in warnings[0]
    assert "online detector" in warnings[0]
    # seq_len records of grace, then the rest of that batch unfit; the next batch goes online
    assert member.unfit == 10 - 3
    assert member.metrics.unfit._value.get() == 7
    assert set(online.scorers) == {"rig-7"}
    assert broker.messages("det") == []


def test_the_gate_skips_windows_and_skipped_windows_are_decided_normal() -> None:
    broker = MemoryBroker()
    _feed(broker, 400, spike_at=350)
    member = _member(broker, emit_all=True, wake_rate=0.2, hold=0, calibration=100)
    member.step(max_records=1_000)
    out = [orjson.loads(m.value or b"") for m in broker.messages("det")]
    skipped = [d for d in out if not d["woken"]]
    assert skipped
    assert all(d["score"] == 0.0 and not d["decision"] for d in skipped)
    assert 0.0 < member.wake_rate < 1.0
    assert member.detections == 1  # the spike is extreme for the prefilter too


def test_lost_partitions_drop_their_assets_state() -> None:
    broker = MemoryBroker()
    _feed(broker, 10)
    member = _member(broker)
    member.step(max_records=100)
    assert len(member.detector) == 1
    member.source.assignment = lambda: set()  # type: ignore[method-assign]
    member.step(max_records=100)
    assert len(member.detector) == 0
    assert member.guard.last == {}
