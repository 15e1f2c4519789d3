"""One exception tree for the whole project.

Every error edgewatch raises on purpose is an `EdgewatchError`; third-party errors are translated
at the boundary with ``raise ... from exc``. Messages name the field or parameter, the rule and the
value received, and where possible say what to do.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BrokerError",
    "CommitRejectedError",
    "ConfigError",
    "DataError",
    "DependencyMissingError",
    "EdgewatchError",
    "RecordError",
    "SignatureError",
    "StateError",
]


class EdgewatchError(Exception):
    """Base class of every error edgewatch raises on purpose."""


class ConfigError(EdgewatchError, ValueError):
    """A setting or parameter has a value that cannot work."""

    @classmethod
    def invalid(cls, name: str, rule: str, value: Any) -> ConfigError:
        return cls(f"{name} {rule}; got {value!r}")


class DataError(EdgewatchError, ValueError):
    """An input data file is missing or malformed; the message names the file, line and column."""

    @classmethod
    def at(
        cls, path: object, problem: str, line: int | None = None, column: str | None = None
    ) -> DataError:
        where = str(path)
        if line is not None:
            where += f", line {line}"
        if column is not None:
            where += f", column {column!r}"
        return cls(f"{where}: {problem}")


class DependencyMissingError(EdgewatchError):
    """A binary or package that this feature needs is not installed."""


class BrokerError(EdgewatchError):
    """The Kafka broker could not be started, reached or used."""


class CommitRejectedError(BrokerError):
    """The group coordinator refused an offset commit because the group is rebalancing (or this
    member's generation has ended). Nothing is lost: whoever owns those partitions next re-reads
    them from the last commit."""


class RecordError(EdgewatchError, ValueError):
    """A message does not satisfy a wire contract.

    ``field`` is the dotted path of the offending field (``"values.temp"``, or ``"<message>"`` for
    the whole message), ``reason`` a short stable code (used as a bounded metric label and in the
    dead-letter queue) and ``value`` the value received.
    """

    def __init__(self, field: str, reason: str, rule: str, value: Any) -> None:
        self.field = field
        self.reason = reason
        self.rule = rule
        self.value = value
        shown = repr(value)
        if len(shown) > 120:
            shown = shown[:117] + "..."
        super().__init__(f"field {field!r} {rule}; got {shown}")


class SignatureError(EdgewatchError):
    """A webhook request whose signature is missing, malformed, stale or wrong."""


class StateError(EdgewatchError):
    """A state snapshot (from the changelog topic) that cannot be restored."""
