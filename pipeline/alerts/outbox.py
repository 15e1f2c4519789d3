"""`Outbox`: a durable SQLite queue of alert deliveries, so no alert is lost.

The member stores a batch's incident events here (one row per endpoint) before it commits the
batch's offsets; the dispatcher delivers them later, however long the receiver is down and across
restarts. A row is unique by (endpoint, event id), so a redelivered batch adds nothing twice.
Per incident, rows are delivered in the order they were added.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from edgewatch.errors import ConfigError

__all__ = ["Outbox", "Pending"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint TEXT NOT NULL,
    event_id TEXT NOT NULL,
    incident_id TEXT NOT NULL,
    body BLOB NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL DEFAULT 0,
    delivered_ms INTEGER,
    last_error TEXT,
    UNIQUE (endpoint, event_id)
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (delivered_ms, endpoint, incident_id, id);
"""


@dataclass(frozen=True, slots=True)
class Pending:
    id: int
    endpoint: str
    event_id: str
    incident_id: str
    body: bytes
    attempts: int


class Outbox:
    """Thread-safe (one connection, one lock); ``path`` ':memory:' for tests only."""

    def __init__(self, path: Path | str) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")  # stored means on disk
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise ConfigError(f"webhook outbox {path}: cannot open it ({exc})") from exc
        self._lock = threading.Lock()

    def add(self, rows: Iterable[tuple[str, str, str, bytes]]) -> int:
        """Store (endpoint, event_id, incident_id, body) rows in one transaction; duplicates of
        stored rows are ignored. Returns how many were new."""
        with self._lock:
            before = self._db.total_changes
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT OR IGNORE INTO outbox (endpoint, event_id, incident_id, body)"
                    " VALUES (?, ?, ?, ?)",
                    list(rows),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            return self._db.total_changes - before

    def due(self, now_ms: int, limit: int = 100) -> list[Pending]:
        """The oldest undelivered row of each (endpoint, incident) whose retry time has come:
        a later event of an incident waits until the earlier one is delivered."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, endpoint, event_id, incident_id, body, attempts, next_attempt_ms"
                " FROM outbox WHERE id IN (SELECT MIN(id) FROM outbox WHERE delivered_ms IS NULL"
                " GROUP BY endpoint, incident_id) ORDER BY id LIMIT ?",
                (limit,),
            ).fetchall()
        return [Pending(*row[:6]) for row in rows if row[6] <= now_ms]

    def delivered(self, row_id: int, now_ms: int) -> None:
        with self._lock:
            self._db.execute("UPDATE outbox SET delivered_ms = ? WHERE id = ?", (now_ms, row_id))

    def failed(self, row_id: int, error: str, retry_at_ms: int) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_ms = ?"
                " WHERE id = ?",
                (error[:500], retry_at_ms, row_id),
            )

    def pending(self) -> int:
        with self._lock:
            (count,) = self._db.execute(
                "SELECT COUNT(*) FROM outbox WHERE delivered_ms IS NULL"
            ).fetchone()
        return int(count)

    def close(self) -> None:
        with self._lock:
            self._db.close()
