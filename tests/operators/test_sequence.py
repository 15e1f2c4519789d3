from __future__ import annotations

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
def test_accepted_seqs_strictly_increase_per_asset(items: list[tuple[str, int]]) -> None:
    accepted = SequenceGuard().process([_r(a, s) for a, s in items])
    for asset in "ab":
        seqs = [r.seq for r in accepted if r.asset == asset]
        assert seqs == sorted(set(seqs))
