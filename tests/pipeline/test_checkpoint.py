"""Checkpoints on in-memory doubles: with a commit interval, outputs still leave with every batch
while offsets and changelog snapshots wait for the interval; a member taking over after a crash
re-processes only what was not committed, and a clean stop commits everything."""

from __future__ import annotations

from edgewatch.errors import CommitRejectedError
from edgewatch.pipeline.checkpoint import Checkpoints
from edgewatch.pipeline.member import Member
from edgewatch.transport import MemoryBroker, StoredMessage
from tests.pipeline.test_state import _broker, _drain, _member, _outputs


def _committed(broker: MemoryBroker) -> int:
    return sum(offset for (group, _), offset in broker.committed.items() if group == "g")


def _snapshots(member: Member) -> float:
    return member.metrics.snapshots._value.get()


def test_offsets_and_snapshots_wait_for_the_interval_outputs_do_not() -> None:
    broker, clock = _broker(), [0]
    member = _member(broker, commit_interval_ms=1_000, wall_ms=lambda: clock[0])
    member.step(max_records=40)  # the first batch checkpoints
    assert (_committed(broker), _snapshots(member)) == (40, 4)
    for now in (500, 999):
        clock[0] = now
        member.step(max_records=40)
        assert (_committed(broker), _snapshots(member)) == (40, 4)
    assert len(broker.messages("det")) == 120 - 4 * 2  # every window, minus each warm-up
    clock[0] = 1_000
    member.step(max_records=40)
    assert _committed(broker) == 160
    assert _snapshots(member) == 8  # one per asset for three batches, not one per batch


def test_after_a_crash_only_the_uncommitted_stretch_is_processed_twice() -> None:
    # the gate off: its calibration is the member's, so a new member's gate decides afresh
    whole = _broker()
    _drain(_member(whole, changelog=False, wake_rate=None), 1_000)

    broker, clock = _broker(), [0]
    first = _member(broker, commit_interval_ms=1_000, wall_ms=lambda: clock[0], wake_rate=None)
    first.step(max_records=40)
    clock[0] = 1_000
    first.step(max_records=40)  # checkpoint: 80 records committed, state snapshotted
    clock[0] = 1_500
    first.step(max_records=40)  # sent, not committed; then the member is gone
    second = _member(broker, wake_rate=None)
    _drain(second, 1_000)
    assert second.warmup == 0
    detections, incidents = _outputs(broker)
    expected, expected_incidents = _outputs(whole)
    assert sorted(set(detections)) == expected
    assert len(detections) - len(expected) == 40  # the uncommitted batch, once more
    assert set(incidents) == set(expected_incidents)


def test_a_clean_stop_commits_everything_processed_once() -> None:
    broker = _broker()
    member = _member(broker, commit_interval_ms=60_000, wall_ms=lambda: 0)
    member.step(max_records=40)
    member.step(max_records=40)
    assert _committed(broker) == 40
    member.checkpoint()
    assert (_committed(broker), _snapshots(member)) == (80, 8)
    member.checkpoint()  # nothing new: no snapshot, no commit
    assert _snapshots(member) == 8


def test_a_commit_refused_by_a_rebalance_stays_pending_and_a_stop_still_succeeds() -> None:
    broker = _broker()
    member = _member(broker, commit_interval_ms=0, wall_ms=lambda: 0)
    real_commit, refusals = member.source.commit, [2]

    def commit(offsets: dict[tuple[str, int], int]) -> None:
        if refusals[0]:
            refusals[0] -= 1
            raise CommitRejectedError("offset commit refused: rebalance in progress")
        real_commit(offsets)

    member.source.commit = commit  # type: ignore[method-assign]
    member.step(max_records=40)  # refused mid-run: the member goes on
    assert _committed(broker) == 0
    assert member.checkpoints.pending
    member.checkpoint()  # refused while running (idle): nothing is polled and left unread
    member.step(max_records=40)  # accepted again: both batches' offsets go in one commit
    assert _committed(broker) == 80
    refusals[0] = 1
    while member.step(max_records=40):
        pass
    member.checkpoint(stopping=True, settle_s=1.0)  # refused once at a stop, then accepted
    total = len(broker.messages("in"))
    assert member.consumed == total == _committed(broker)


def test_lost_partitions_and_their_assets_leave_the_pending_checkpoint() -> None:
    checkpoints = Checkpoints(1_000)
    checkpoints.offsets = {("in", 0): 5, ("in", 1): 7}
    checkpoints.touched = {
        "a": StoredMessage("in", 0, 4, 0, b"a", b""),
        "b": StoredMessage("in", 1, 6, 0, b"b", b""),
    }
    checkpoints.drop([("in", 0)], ["a"])
    assert checkpoints.offsets == {("in", 1): 7}
    assert list(checkpoints.touched) == ["b"]


def test_what_a_rebalance_redelivers_to_the_same_member_is_skipped() -> None:
    whole = _broker()
    _drain(_member(whole, changelog=False), 1_000)

    broker = _broker()
    member = _member(broker, changelog=False, commit_interval_ms=60_000, wall_ms=lambda: 0)
    member.step(max_records=40)
    member.step(max_records=40)  # processed, not committed
    member.source.position.clear()  # as a rebalance that keeps the partitions: back to the commit
    _drain(member, 1_000)
    assert member.redelivered == 40
    assert (
        member.metrics.registry.get_sample_value(
            "edgewatch_records_total", {"outcome": "redelivered"}
        )
        == 40
    )
    assert member.consumed == 240
    assert broker.messages("dlq") == []  # not mistaken for repeated seqs
    assert _outputs(broker) == _outputs(whole)  # nothing processed twice


def test_an_idle_member_commits_what_it_processed_within_one_interval() -> None:
    broker, clock = _broker(), [0]
    member = _member(broker, commit_interval_ms=1_000, wall_ms=lambda: clock[0])
    member.step(max_records=40)
    clock[0] = 500
    while member.step(max_records=40):  # the rest arrives before the interval is up
        pass
    processed = member.consumed
    assert _committed(broker) == 40 < processed
    member.step()  # nothing to poll, interval not up yet
    assert _committed(broker) == 40
    clock[0] = 1_000
    member.step()  # still nothing to poll: the interval is up, so it commits
    assert _committed(broker) == processed
