from __future__ import annotations

import pytest

from edgewatch.errors import ConfigError
from edgewatch.models.recipes import recipe
from edgewatch.producers.cmapss import SENSORS


def test_fd001_ships_long_windows_of_the_sensors_fitted_to_health() -> None:
    shipped = recipe("fd001")
    assert shipped.seq_len == 50
    assert shipped.channels == tuple(SENSORS)
    assert shipped.target == "health"
    assert shipped.pad_start


def test_the_paper_protocol_stays_available_and_overrides_apply() -> None:
    paper = recipe("fd001", "paper")
    assert (paper.seq_len, paper.channels, paper.target) == (10, None, "label")
    assert recipe("fd001", "paper", seq_len=30, target=None).seq_len == 30
    assert recipe("fd001", "paper", seq_len=30, target=None).target == "label"  # None: kept


def test_unknown_recipe_names_the_choices() -> None:
    with pytest.raises(ConfigError, match="'shipped' or 'paper'"):
        recipe("fd001", "best")  # type: ignore[arg-type]
