"""The replay process's fleet holds as many records as asked for (a fast latency run asked for
more than the default fleet's 250,000 and then waited for records that never came)."""

from __future__ import annotations

from edgewatch.pipeline.jobs.replay_process import fleet_for
from edgewatch.producers.simulated import FleetSpec


def test_the_default_fleet_unless_more_records_are_needed() -> None:
    assert fleet_for(1_000) == FleetSpec()
    assert fleet_for(250_000) == FleetSpec()
    bigger = fleet_for(600_001)
    assert bigger.assets * bigger.points >= 600_001
    assert bigger == FleetSpec(points=bigger.points)  # only longer series
