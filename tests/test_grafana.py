"""The Grafana provisioning and dashboards are consistent with each other and with compose.
(Their PromQL runs against a real Prometheus in test_observability.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
GRAFANA = ROOT / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))


def _datasource_uids() -> set[str]:
    provisioned = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yml").read_text())
    return {d["uid"] for d in provisioned["datasources"]}


def test_there_is_a_fleet_overview_and_an_asset_drill_down() -> None:
    assert [p.stem for p in DASHBOARDS] == ["asset-drill-down", "fleet-overview"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_dashboard_is_well_formed(path: Path) -> None:
    dashboard = json.loads(path.read_text())
    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels), "panel ids must be unique"
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        assert panel["datasource"]["uid"] in _datasource_uids()
        assert panel["targets"], f"{panel['title']} has no query"
        for target in panel["targets"]:
            assert target["datasource"]["uid"] in _datasource_uids()
        pos = panel["gridPos"]
        assert pos["x"] + pos["w"] <= 24, f"{panel['title']} is wider than the grid"
        xs, ys = range(pos["x"], pos["x"] + pos["w"]), range(pos["y"], pos["y"] + pos["h"])
        mine = {(x, y) for x in xs for y in ys}
        assert not cells & mine, f"{panel['title']} overlaps another panel"
        cells |= mine
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    used = {name for name in variables if any(f"${name}" in json.dumps(p) for p in panels)}
    assert used == variables, "every variable is used by a panel"


def test_compose_mounts_what_the_provider_reads() -> None:
    provider = yaml.safe_load((GRAFANA / "provisioning/dashboards/edgewatch.yml").read_text())
    path = provider["providers"][0]["options"]["path"]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"./grafana/dashboards:{path}:ro" in mounts
