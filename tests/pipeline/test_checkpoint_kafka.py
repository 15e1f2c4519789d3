"""Checkpoints on the real embedded broker: with a long commit interval, a partition that a
rebalance moves is processed again from the last commit by its new owner (duplicates, never
losses), and nothing lands in the DLQ for it."""

from __future__ import annotations

import threading
import time
from collections import Counter

import orjson
import pytest

from edgewatch.pipeline.app import open_member
from edgewatch.pipeline.kafka.broker import EmbeddedBroker
from edgewatch.pipeline.kafka.kafka_python import read_topic
from edgewatch.pipeline.member import Member
from edgewatch.producers.simulated import FleetSpec, simulate_fleet
from edgewatch.records import encode_record
from tests.pipeline.test_cascade_kafka import _drain, _fill, _send, _settings

pytestmark = pytest.mark.integration
SEQ_LEN = 10  # the shipped simulated model's window


def _split(a: Member, b: Member, timeout_s: float = 60.0) -> None:
    """Poll with both members, each on its own thread as two processes would, until the group
    has shared the partitions between them."""
    deadline = time.monotonic() + timeout_s

    def split() -> bool:
        mine, theirs = a.source.assignment(), b.source.assignment()
        return bool(mine and theirs and not mine & theirs and len(mine | theirs) == 6)

    def loop(member: Member) -> None:
        while not split() and time.monotonic() < deadline:
            member.step(100, 500)

    threads = [threading.Thread(target=loop, args=(m,)) for m in (a, b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert split(), f"no split in {timeout_s} s"


def test_after_a_rebalance_only_moved_partitions_are_processed_again(
    broker: EmbeddedBroker,
) -> None:
    bootstrap = broker.bootstrap_servers
    settings = _settings(bootstrap, partitions=6)
    k = settings.kafka.model_copy(update={"commit_interval_ms": 600_000})  # never due
    settings = settings.model_copy(update={"kafka": k})
    records = list(simulate_fleet(FleetSpec(assets=12, points=3_000)).records(limit=4_800))
    early = [r for r in records if r.seq < 200]
    late = [r for r in records if r.seq >= 200]
    _fill(bootstrap, k, early)
    with open_member(settings, bootstrap) as a:
        _drain(a, len(early))  # committed: its first batch only
        with open_member(settings, bootstrap) as b:
            _split(a, b)
            _send(bootstrap, k.input_topic, [(r.asset.encode(), encode_record(r)) for r in late])
            # consumed counts what b processes again too: go on until both have been idle a while
            deadline, idle = time.monotonic() + 120, 0
            while idle < 5 and time.monotonic() < deadline:
                got = a.step(100, 2_000) + b.step(100, 2_000)
                idle = idle + 1 if got == 0 and a.consumed + b.consumed >= len(records) else 0

    assert a.consumed + b.consumed >= len(records)
    # A client that re-reads the partitions it kept from the last commit (an eager rebalance)
    # hands `a` records it had processed: skipped (`redelivered`), not mistaken for repeated seqs.
    assert read_topic(bootstrap, k.dlq_topic) == []
    out = [orjson.loads(m.value or b"") for m in read_topic(bootstrap, k.detections_topic)]
    counts = Counter((d["asset"], d["seq"]) for d in out)
    assert max(counts.values()) <= 2
    twice = {key for key, n in counts.items() if n == 2}
    assert all(seq < 200 for _, seq in twice)  # only the uncommitted stretch before the split
    missing = {(r.asset, r.seq) for r in late} - set(counts)
    # none lost: at most the warm-up of an asset b took, if a had committed all its early records
    assert all(seq < 200 + SEQ_LEN - 1 for _, seq in missing), sorted(missing)
