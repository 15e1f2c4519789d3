"""`Router`: shipped models take their own data set's streams, everything else (and every asset
a model does not fit) goes to the online detector; state names its route."""

from __future__ import annotations

import numpy as np
import pytest

from edgewatch.errors import StateError
from edgewatch.operators import Cascade
from edgewatch.operators.anystream import ONLINE, OnlineDetector
from edgewatch.operators.base import ModelInfo
from edgewatch.operators.online import ScorerParams
from edgewatch.operators.router import Route, Router, takes_all, takes_source
from edgewatch.records import SensorRecord

CARD = {
    "channels": ["a", "b"],
    "seq_len": 4,
    "threshold": 0.5,
    "scaling": {"mode": "global", "mean": [0.0, 0.0], "std": [1.0, 1.0]},
}


def _cascade() -> Cascade:
    return Cascade.from_card(CARD, lambda x: np.full(len(x), 0.9))  # every window anomalous


def _router(takes=takes_all) -> Router:  # type: ignore[no-untyped-def]
    route = Route(ModelInfo("m", "v1", 0.5), _cascade(), takes)
    return Router([route], OnlineDetector(ScorerParams(calibration=400)))


def _records(asset: str, n: int, source: str = "csv", channels=("a", "b")) -> list[SensorRecord]:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    return [
        SensorRecord(asset, i * 1_000, i, {c: float(rng.normal()) for c in channels}, source)
        for i in range(n)
    ]


def test_a_model_takes_its_own_source_and_the_online_detector_the_rest() -> None:
    router = _router(takes_source("plant"))
    scored = router.process(_records("p1", 600, "plant-test") + _records("x1", 600, "csv"))
    by_model = {s.record.asset: s.model.name for s in scored if s.model is not None}
    assert by_model == {"p1": "m", "x1": ONLINE}
    assert all(s.decision for s in scored if s.record.asset == "p1")
    assert router.warming == 3 + (2 * 50 + 400)  # the window's warm-up, the online one's


def test_an_asset_the_model_does_not_fit_moves_to_the_online_detector() -> None:
    router = _router()
    scored = router.process(_records("c", 1_000, channels=("a",)))  # lacks b
    assert router.take_unfit() == {"c": ["b"]}
    assert router.take_unfit() == {}  # reported once
    assert {s.model.name for s in scored if s.model is not None} <= {ONLINE}
    later = router.process(_records("c", 1_700, channels=("a",))[1_000:])  # after its warm-up
    assert later
    assert all(s.model is not None and s.model.name == ONLINE for s in later)


def test_state_round_trips_with_its_route_and_refuses_an_unknown_one() -> None:
    a, b = _router(), _router()
    a.process(_records("x", 50) + _records("y", 50, channels=("a",)))
    a.process(_records("y", 60, channels=("a",))[50:])  # now scored by the online detector
    for asset in ("x", "y"):
        saved = a.state_of(asset)
        assert saved is not None
        b.restore(asset, saved)
    assert b.of == a.of == {"x": 0, "y": 1}
    with pytest.raises(StateError, match="route"):
        b.restore("z", {"route": "gone", "state": {}})
