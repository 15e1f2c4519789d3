from __future__ import annotations

from pathlib import Path

import pytest

from edgewatch.errors import ConfigError
from edgewatch.producers.datasets import default_data_dir, open_dataset


def test_default_data_dir_follows_xdg() -> None:
    assert default_data_dir({"XDG_DATA_HOME": "/x"}) == Path("/x/edgewatch")
    assert default_data_dir({}) == Path.home() / ".local" / "share" / "edgewatch"


def test_datasets_resolve_under_the_data_dir(shared_data: Path) -> None:
    fd001 = open_dataset("fd001", None, shared_data, split="test")
    assert fd001.total() == 13_096
    assert next(iter(fd001.records())).asset == "fd001-test-001"
    assert open_dataset("simulated", None, shared_data).total() == 250_000


def test_unknown_dataset_and_csv_without_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="must be one of: simulated, fd001, metropt, csv"):
        open_dataset("nasa", None, tmp_path)
    with pytest.raises(ConfigError, match="--path"):
        open_dataset("csv", None, tmp_path)
