"""`Router`: each asset to the detector that fits it, the online detector where no model does.

A `Route` is a model cascade with a rule for which assets it takes (an explicit ``--model``
takes every asset; a shipped model, by default, only the streams of the data set it was trained
on, named by the records' ``source``). An asset's first record chooses its route; an asset that
no route takes goes to the `OnlineDetector`, and so does an asset that a model later finds not to
fit (it lacks one of the model's channels): from then on its records are scored without a model,
and `take_unfit` reports it once, with the channels it lacks, so the member can say so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from edgewatch.errors import StateError
from edgewatch.operators import state as snap
from edgewatch.operators.anystream import ONLINE, OnlineDetector
from edgewatch.operators.base import ModelInfo, Scored, StreamDetector
from edgewatch.records import SensorRecord

__all__ = ["Route", "Router", "takes_all", "takes_source"]


def takes_all(record: SensorRecord) -> bool:
    return True


def takes_source(dataset: str) -> Callable[[SensorRecord], bool]:
    """Records whose source is ``dataset`` or ``dataset-<split>`` (e.g. fd001-test)."""
    prefix = dataset + "-"
    return lambda record: record.source == dataset or record.source.startswith(prefix)


@dataclass(frozen=True, slots=True)
class Route:
    info: ModelInfo
    detector: StreamDetector
    takes: Callable[[SensorRecord], bool] = takes_all


class Router:
    def __init__(self, routes: Sequence[Route], online: OnlineDetector) -> None:
        self.online_info = ModelInfo(ONLINE, online.version, online.threshold_value)
        self.routes = [*routes, Route(self.online_info, online)]
        self.online = online
        self.of: dict[str, int] = {}  # asset -> index of its route
        self._unfit: dict[str, list[str]] = {}

    @property
    def version(self) -> str:
        return "+".join(r.info.version for r in self.routes)

    @property
    def threshold_value(self) -> float:
        return self.routes[0].info.threshold

    def __len__(self) -> int:
        return len(self.of)

    def _sum(self, name: str) -> Any:
        return sum(getattr(r.detector, name) for r in self.routes)

    @property
    def warming(self) -> int:
        return int(self._sum("warming"))

    @property
    def unfit(self) -> int:
        return int(self._sum("unfit"))

    @property
    def invocations(self) -> int:
        return int(self._sum("invocations"))

    @property
    def model_seconds(self) -> float:
        return float(self._sum("model_seconds"))

    @property
    def model_windows(self) -> int:
        return int(self._sum("model_windows"))

    def take_unfit(self) -> dict[str, list[str]]:
        found, self._unfit = self._unfit, {}
        return found

    def evict(self, assets: Iterable[str]) -> None:
        assets = list(assets)
        for route in self.routes:
            route.detector.evict(assets)
        for asset in assets:
            self.of.pop(asset, None)

    def state_of(self, asset: str) -> dict[str, Any] | None:
        at = self.of.get(asset)
        if at is None:
            return None
        state = self.routes[at].detector.state_of(asset)
        return None if state is None else {"route": self.routes[at].info.name, "state": state}

    def restore(self, asset: str, saved: Mapping[str, Any]) -> None:
        where = f"detector state of {asset!r}"
        name = snap.text(saved, "route", where)
        for at, route in enumerate(self.routes):
            if route.info.name == name:
                self.evict([asset])
                route.detector.restore(asset, snap.mapping(saved, "state", where))
                self.of[asset] = at
                return
        raise StateError(f"{where}.route is {name!r:.60}, which this member does not run")

    def _route(self, record: SensorRecord) -> int:
        for at, route in enumerate(self.routes):
            if route.takes(record):
                return at
        return len(self.routes) - 1  # unreachable: the online route takes all

    def submit(self, batch: list[SensorRecord]) -> Callable[[], list[Scored]]:
        """Split ``batch`` by route (each asset's records keep their order) and submit each part
        to its detector; the returned function collects them all."""
        parts: list[list[SensorRecord]] = [[] for _ in self.routes]
        of = self.of
        for record in batch:
            at = of.get(record.asset)
            if at is None:
                at = of[record.asset] = self._route(record)
            parts[at].append(record)
        pending = [
            (route, route.detector.submit(part))
            for route, part in zip(self.routes, parts, strict=True)
            if part
        ]

        def collect() -> list[Scored]:
            out: list[Scored] = []
            for route, wait in pending:
                scored = wait()
                for item in scored:
                    item.model = route.info
                out.extend(scored)
                self._move_unfit(route)
            return out

        return collect

    def process(self, batch: list[SensorRecord]) -> list[Scored]:
        return self.submit(batch)()

    def _move_unfit(self, route: Route) -> None:
        """Assets the route's model found not to fit go to the online detector from now on."""
        if route.detector is self.online:
            return
        found = route.detector.take_unfit()
        if found:
            route.detector.evict(found)
            online = len(self.routes) - 1
            for asset in found:
                self.of[asset] = online
            self._unfit.update(found)
