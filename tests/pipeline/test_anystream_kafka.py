"""A member with default settings on streams no shipped model was trained on, on the real
broker: the online detector scores them, its detections name it, and it alarms at the injected
faults; the simulated fleet in the same topic still goes to its model."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import orjson
import pytest

from edgewatch.pipeline.app import open_member
from edgewatch.pipeline.kafka.broker import EmbeddedBroker
from edgewatch.pipeline.kafka.kafka_python import read_topic
from edgewatch.producers.csvfile import open_csv
from edgewatch.producers.simulated import FleetSpec, simulate_fleet
from edgewatch.producers.synthetic import synthetic_corpus
from tests.pipeline.test_cascade_kafka import _drain, _fill, _settings

pytestmark = pytest.mark.integration


def test_unseen_streams_go_to_the_online_detector_and_the_fleet_to_its_model(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    for series in synthetic_corpus(3, seed=5):
        series.frame.to_csv(tmp_path / f"{series.name}.csv", index=False)
    plant = list(open_csv(tmp_path, label_column="label").records())
    fleet = list(simulate_fleet(FleetSpec(assets=2, points=3_000)).records())
    settings = _settings(broker.bootstrap_servers, partitions=3)
    k = settings.kafka
    _fill(broker.bootstrap_servers, k, plant + fleet)
    with open_member(settings, broker.bootstrap_servers) as member:
        _drain(member, len(plant) + len(fleet))
    out = [
        orjson.loads(m.value or b"")
        for m in read_topic(broker.bootstrap_servers, k.detections_topic)
    ]
    by_source = Counter((d["source"], d["model"]) for d in out)
    assert set(by_source) == {("csv", "online"), ("simulated", "simulated-edge_cnn_lstm-int8")}
    online = [d for d in out if d["model"] == "online"]
    assert all(d["threshold"] == pytest.approx(2.69897, abs=1e-5) for d in online)
    flagged = [d for d in online if d["decision"]]
    assert flagged
    assert sum(d["label"] for d in flagged) / len(flagged) > 0.3  # mostly at the faults
    assert read_topic(broker.bootstrap_servers, k.dlq_topic) == []
