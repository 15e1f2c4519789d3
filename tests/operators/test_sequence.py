from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from edgewatch.operators.sequence import SequenceGuard
from edgewatch.records import SensorRecord


def _r(asset: str, seq: int) -> SensorRecord:
    return SensorRecord(asset, seq, seq, {"x": 1.0}, "t")


def test_repeats_and_regressions_are_rejected_gaps_counted() -> None:
    guard = SequenceGuard()
    reasons = [guard.check(_r("a", s)) for s in (0, 1, 1, 0, 4, 5)]
    assert reasons == [None, None, "repeated_seq", "out_of_order", None, None]
    assert guard.gaps == 2
    assert guard.check(_r("b", 0)) is None  # per asset


@given(st.lists(st.tuples(st.sampled_from("ab"), st.integers(0, 30)), max_size=80))
def test_accepted_seqs_strictly_increase_per_asset_between_restarts(
    items: list[tuple[str, int]],
) -> None:
    guard = SequenceGuard(restart_after=3)
    accepted = guard.process([_r(a, s) for a, s in items])
    drops = 0
    for asset in "ab":
        seqs = [r.seq for r in accepted if r.asset == asset]
        drops += sum(1 for x, y in itertools.pairwise(seqs) if y <= x)
    assert drops == guard.restarts


def test_a_forged_seq_far_ahead_silences_the_asset_only_until_a_new_epoch() -> None:
    guard = SequenceGuard(restart_after=10)
    assert [guard.check(_r("a", s)) for s in range(5)] == [None] * 5
    forged = SensorRecord("a", 5, 2**63 - 1, {"x": 1.0}, "t")
    assert guard.check(forged) is None  # valid on its own: a gap
    reasons = [guard.check(_r("a", s)) for s in range(5, 25)]
    assert reasons[:9] == ["out_of_order"] * 9
    assert reasons[9:] == [None] * 11  # seq 14 opens the new epoch; 15.. follow it
    assert guard.restarts == 1
    assert guard.check(_r("b", 0)) is None


def test_a_producer_restart_from_zero_is_a_new_epoch() -> None:
    guard = SequenceGuard(restart_after=4)
    for s in range(100):
        guard.check(_r("a", s))
    reasons = [guard.check(_r("a", s)) for s in range(6)]
    assert reasons == ["out_of_order"] * 3 + [None] * 3
    assert guard.last["a"] == 5


def test_isolated_stale_records_never_open_an_epoch() -> None:
    guard = SequenceGuard(restart_after=2)
    for s in range(50):
        guard.check(_r("a", s))
        if s % 5 == 4:  # a stale copy now and then, between fresh records
            assert guard.check(_r("a", s - 3)) == "out_of_order"
    assert guard.restarts == 0
