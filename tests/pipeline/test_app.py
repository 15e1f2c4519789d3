from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest

from edgewatch.errors import EdgewatchError
from edgewatch.models.artifacts import shipped_card
from edgewatch.pipeline.app import MEMBER_GC_THRESHOLDS, load_detector_model, steady_gc
from edgewatch.pipeline.settings import DetectorSettings


@pytest.mark.parametrize(
    ("model", "card"),
    [
        (None, shipped_card("simulated")),
        (Path("fd001"), shipped_card("fd001")),
        (shipped_card("fd001"), shipped_card("fd001")),
    ],
    ids=["default", "shipped-name", "path"],
)
def test_model_by_default_name_or_path(model: Path | None, card: Path) -> None:
    loaded = load_detector_model(DetectorSettings(model=model))
    assert loaded.card["sha256"] == json.loads(card.read_text())["sha256"]


def test_unknown_model_is_a_clear_error() -> None:
    with pytest.raises(EdgewatchError, match="nope"):
        load_detector_model(DetectorSettings(model=Path("nope")))


def test_steady_gc_tunes_while_members_run_and_the_last_out_restores() -> None:
    before = gc.get_threshold()
    with steady_gc():
        assert gc.get_threshold() == MEMBER_GC_THRESHOLDS
        assert gc.get_freeze_count() > 0
        with steady_gc():  # a second member in the same process
            assert gc.get_threshold() == MEMBER_GC_THRESHOLDS
        assert gc.get_threshold() == MEMBER_GC_THRESHOLDS  # the first still runs
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
