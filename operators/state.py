"""Reading per-asset state back from a changelog snapshot, every field checked.

A snapshot arrives over Kafka, so it is hostile input. It is data only: JSON numbers, strings,
lists and objects, nothing that names code (no pickle). Each operator's ``restore`` reads its part
through these checks, which raise `StateError` naming the field, the rule and the value; the
member then skips that asset's snapshot (it warms up) and counts it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from edgewatch.errors import StateError

__all__ = [
    "MAX_COUNT",
    "Saved",
    "flag_list",
    "integer",
    "mapping",
    "number",
    "reading",
    "rows",
    "text",
]

Saved = Mapping[str, Any]
#: The largest count or sequence number a snapshot may hold (that of a record's seq).
MAX_COUNT = 2**63 - 1
#: The most items a list in a snapshot may hold (windows are short; 256 channels at most).
MAX_ITEMS = 100_000


def _field(saved: Saved, key: str, where: str) -> Any:
    if not isinstance(saved, Mapping):
        raise StateError(f"{where} must be an object; got {type(saved).__name__}")
    if key not in saved:
        raise StateError(f"{where}.{key} is missing")
    return saved[key]


def integer(saved: Saved, key: str, where: str, low: int = 0, high: int = MAX_COUNT) -> int:
    """``saved[key]``: an integer (not a bool) in [low, high]."""
    value = _field(saved, key, where)
    if type(value) is not int or not low <= value <= high:
        raise StateError(f"{where}.{key} must be an integer in [{low}, {high}]; got {value!r:.80}")
    return value


def number(saved: Saved, key: str, where: str) -> float:
    """``saved[key]``: a finite number."""
    value = _field(saved, key, where)
    if type(value) not in (int, float) or not math.isfinite(value):
        raise StateError(f"{where}.{key} must be a finite number; got {value!r:.80}")
    return float(value)


def text(saved: Saved, key: str, where: str, most: int = 256) -> str:
    """``saved[key]``: a string of at most ``most`` characters."""
    value = _field(saved, key, where)
    if type(value) is not str or len(value) > most:
        raise StateError(f"{where}.{key} must be a string of at most {most} characters")
    return value


def mapping(saved: Saved, key: str, where: str) -> Mapping[str, Any]:
    """``saved[key]``: an object of at most ``MAX_ITEMS`` entries."""
    value = _field(saved, key, where)
    if not isinstance(value, Mapping) or len(value) > MAX_ITEMS:
        raise StateError(f"{where}.{key} must be an object of at most {MAX_ITEMS} entries")
    return value


def _items(saved: Saved, key: str, where: str) -> Sequence[Any]:
    value = _field(saved, key, where)
    if not isinstance(value, list) or len(value) > MAX_ITEMS:
        raise StateError(f"{where}.{key} must be a list of at most {MAX_ITEMS} items")
    return value


def reading(
    saved: Saved, key: str, where: str, width: int | None = None, missing: bool = True
) -> list[float]:
    """``saved[key]``: a list of finite numbers, ``width`` of them if given; with ``missing``
    also None (a missing value, read as NaN)."""
    items = _items(saved, key, where)
    if width is not None and len(items) != width:
        raise StateError(f"{where}.{key} holds {len(items)} values; {width} fit here")
    out = []
    for item in items:
        if item is None and missing:
            out.append(math.nan)
        elif type(item) in (int, float) and math.isfinite(item):
            out.append(float(item))
        else:
            rule = "finite numbers or null" if missing else "finite numbers"
            raise StateError(f"{where}.{key} must hold {rule}; got {item!r:.80}")
    return out


def rows(saved: Saved, key: str, where: str, width: int, most: int) -> list[list[float]]:
    """``saved[key]``: at most ``most`` readings (see `reading`) of ``width`` values each."""
    items = _items(saved, key, where)
    if len(items) > most:
        raise StateError(f"{where}.{key} holds {len(items)} rows; at most {most} fit")
    return [reading({"row": row}, "row", f"{where}.{key}", width) for row in items]


def flag_list(saved: Saved, key: str, where: str) -> list[bool]:
    """``saved[key]``: a list of booleans."""
    items = _items(saved, key, where)
    if any(type(item) is not bool for item in items):
        raise StateError(f"{where}.{key} must be a list of true/false")
    return list(items)
