"""The changelog on the real embedded broker: a member that takes over a group's partitions
restores every asset's state and scores from the first record it reads, no warm-up."""

from __future__ import annotations

from collections import Counter

import orjson
import pytest

from edgewatch.errors import ConfigError
from edgewatch.pipeline.app import ensure_member_topics, open_member
from edgewatch.pipeline.kafka.broker import EmbeddedBroker
from edgewatch.pipeline.kafka.kafka_python import ensure_topics, read_topic
from edgewatch.producers.simulated import FleetSpec, simulate_fleet
from tests.pipeline.test_cascade_kafka import _drain, _fill, _settings

pytestmark = pytest.mark.integration
SEQ_LEN = 10  # the shipped simulated model's window


def test_a_member_that_takes_over_restores_state_instead_of_warming_up(
    broker: EmbeddedBroker,
) -> None:
    bootstrap = broker.bootstrap_servers
    settings = _settings(bootstrap, partitions=2, wake_rate=0.3, hold=5)
    k = settings.kafka.model_copy(update={"changelog_topic": f"{settings.kafka.input_topic}.state"})
    settings = settings.model_copy(update={"kafka": k})
    records = list(simulate_fleet(FleetSpec(assets=6, points=3_000)).records(limit=3_000))
    _fill(bootstrap, k, records)

    with open_member(settings, bootstrap) as first:
        while first.consumed < len(records) // 3 or len(first.detector) < 6:  # all assets
            first.step(200, 300)
    assert first.metrics.snapshots._value.get() > 0
    with open_member(settings, bootstrap) as second:
        _drain(second, len(records) - first.consumed)

    assert second.metrics.restored._value.get() == 6  # every asset
    assert second.warmup == 0
    out = [orjson.loads(m.value or b"") for m in read_topic(bootstrap, k.detections_topic)]
    seen = Counter((d["asset"], d["seq"]) for d in out)
    want = {(r.asset, r.seq) for r in records if r.seq >= SEQ_LEN - 1}
    assert set(seen) == want  # only each asset's first warm-up is missing
    assert max(seen.values()) == 1  # the first member committed all it sent


def test_a_changelog_partitioned_unlike_the_input_is_refused(broker: EmbeddedBroker) -> None:
    k = _settings(broker.bootstrap_servers, partitions=2).kafka
    k = k.model_copy(update={"changelog_topic": f"{k.input_topic}.state"})
    ensure_topics(broker.bootstrap_servers, {k.changelog_topic: 3})  # type: ignore[dict-item]
    with pytest.raises(ConfigError, match=r"has 3 partitions but input topic .* has 2"):
        ensure_member_topics(broker.bootstrap_servers, k)
