"""Changelog snapshots on in-memory doubles: what is written with each batch, which snapshot a
member that gains the partitions takes, and that it then goes on as if the assets never moved."""

from __future__ import annotations

import contextlib
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgewatch.errors import StateError
from edgewatch.operators import Cascade, IncidentTracker
from edgewatch.pipeline.member import Member
from edgewatch.pipeline.metrics.registry import PipelineMetrics
from edgewatch.pipeline.state import Changelog, Snapshot
from edgewatch.records import SensorRecord, encode_record
from edgewatch.transport import MemoryBroker
from tests.pipeline.test_member import CARD, TOPICS, _spike_model

ASSETS = [f"pump{i}" for i in range(4)]


def _broker() -> MemoryBroker:
    broker = MemoryBroker(now_ms=lambda: 0)
    for topic in ("in", "state"):
        broker.create_topic(topic, 2)
    for seq in range(60):
        for asset in ASSETS:
            value = 100.0 if seq in (20, 21, 22, 45) else float(seq % 3)
            record = SensorRecord(asset, 1_000 * seq, seq, {"p": value}, "test")
            broker.append("in", asset.encode(), encode_record(record))
    return broker


def _member(
    broker: MemoryBroker,
    changelog: bool = True,
    model: str = "1",
    wake_rate: float | None = 0.5,
    **options: Any,
) -> Member:
    log = Changelog("state", model, lambda parts: broker.messages("state", parts))
    return Member(
        broker.source(["in"], "g"),
        broker.sink(),
        Cascade.from_card(CARD, _spike_model, wake_rate=wake_rate, calibration=10, hold=3),  # type: ignore[arg-type]
        topics=TOPICS,
        metrics=PipelineMetrics(),
        model="spike",
        model_version=model,
        threshold=0.5,
        incidents=IncidentTracker(k=2, m=3, quiet_ms=5_000),
        emit_all=True,
        changelog=log if changelog else None,
        **options,
    )


def _outputs(broker: MemoryBroker) -> tuple[list[tuple[object, ...]], list[bytes]]:
    detections = [orjson.loads(m.value or b"") for m in broker.messages("det")]
    incidents = [m.value or b"" for m in broker.messages("inc")]
    return sorted((d["asset"], d["seq"], d["score"], d["decision"]) for d in detections), incidents


def _drain(member: Member, batch: int) -> None:
    while member.step(max_records=batch):
        pass


def test_a_member_that_takes_over_goes_on_as_if_the_assets_never_moved() -> None:
    whole = _broker()
    _drain(_member(whole, changelog=False), 1_000)

    moved = _broker()
    first = _member(moved)
    first.step(max_records=50)  # 50 of 240 records, then the member is gone
    first.step(max_records=50)
    assert first.metrics.snapshots._value.get() == 8  # four assets, two batches
    second = _member(moved)
    _drain(second, 1_000)
    assert second.metrics.restored._value.get() == len(ASSETS)
    assert second.warmup == 0  # no asset started over
    assert _outputs(moved) == _outputs(whole)


def test_without_a_changelog_the_assets_warm_up_again() -> None:
    broker = _broker()
    first = _member(broker, changelog=False)
    first.step(max_records=100)
    second = _member(broker, changelog=False)
    _drain(second, 1_000)
    assert second.warmup == len(ASSETS) * (CARD["seq_len"] - 1)  # type: ignore[operator]


def test_snapshots_past_the_commit_or_of_another_model_or_unreadable_are_passed_over() -> None:
    broker = _broker()
    first = _member(broker)
    first.step(max_records=100)
    for m in list(broker.messages("state")):
        snapshot = Snapshot.decode(m.value)
        ahead = Snapshot(snapshot.asset, m.partition, 10_000, "1", snapshot.state)
        other = Snapshot(snapshot.asset, m.partition, 0, "2", snapshot.state)
        for value in (ahead.encode(), other.encode(), b"\x00garbage"):
            broker.append("state", m.key, value, m.partition)
    second = _member(broker)
    found = second.changelog.restore(second._parts, _committed(broker))  # type: ignore[union-attr]
    assert (found.ahead, found.foreign, found.invalid) == (4, 4, 4)
    assert sorted(found.assets) == ASSETS
    assert second.guard.last == first.guard.last  # the snapshots the first member wrote


def _committed(broker: MemoryBroker) -> dict[int, int | None]:
    return {p: broker.committed.get(("g", ("in", p))) for p in (0, 1)}


def test_a_snapshot_that_does_not_fit_leaves_the_asset_to_warm_up() -> None:
    broker = _broker()
    _member(broker).step(max_records=100)
    second = _member(broker)
    second.detector.windows.seq_len = 2  # type: ignore[attr-defined]  # a model with shorter windows
    found = second.changelog.restore(second._parts, _committed(broker))  # type: ignore[union-attr]
    assert found.assets == {}
    assert found.invalid == len(ASSETS)
    assert len(second.detector) == 0
    assert second.guard.last == {}


@given(st.binary(max_size=200))
def test_decode_raises_only_state_errors(value: bytes) -> None:
    with contextlib.suppress(StateError):
        Snapshot.decode(value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (b"{", "not JSON"),
        (b'{"v": 2}', "version must be 1; got 2"),
        (b'{"v": 1, "asset": "a"}', "'partition'"),
        (b'{"v":1,"asset":"a","partition":0,"offset":1,"model":"m","state":[]}', "an object"),
    ],
)
def test_decode_says_what_is_wrong(value: bytes, message: str) -> None:
    with pytest.raises(StateError, match=message):
        Snapshot.decode(value)
