"""How each shipped data set is windowed and trained: the paper's protocol and ours.

``paper`` is the Edge-1DCNN-LSTM paper's protocol (10-reading windows of every channel, 0/1
labels), kept so its comparison table stays reproducible. ``shipped`` is the configuration the
shipped artifact is trained with (`edgewatch train` uses it by default); on FD001 it reads 50
cycles of the 14 informative sensors, learns the engine's health (capped RUL) rather than the
label, and pads each unit's start so that every cycle, a short unit's last one too, is scored.
Every field can be overridden from the command line.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

from edgewatch.errors import ConfigError
from edgewatch.models.windows import Target
from edgewatch.producers.cmapss import SENSORS

__all__ = ["RECIPES", "Recipe", "RecipeName", "recipe"]

RecipeName = Literal["shipped", "paper"]


@dataclass(frozen=True, slots=True)
class Recipe:
    seq_len: int = 10
    channels: tuple[str, ...] | None = None  # None: all of the data set's channels
    target: Target = "label"
    pad_start: bool = False
    weight_decay: float = 0.0


RECIPES: dict[tuple[str, RecipeName], Recipe] = {
    ("simulated", "paper"): Recipe(),
    ("simulated", "shipped"): Recipe(),
    ("fd001", "paper"): Recipe(),
    ("fd001", "shipped"): Recipe(
        seq_len=50, channels=tuple(SENSORS), target="health", pad_start=True, weight_decay=1e-2
    ),
}


def recipe(dataset: str, name: RecipeName = "shipped", **overrides: Any) -> Recipe:
    """The named recipe of ``dataset`` with every override that is not None applied."""
    if (dataset, name) not in RECIPES:
        raise ConfigError.invalid("recipe", "must be 'shipped' or 'paper'", name)
    return replace(RECIPES[dataset, name], **{k: v for k, v in overrides.items() if v is not None})
