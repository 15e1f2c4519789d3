"""Signed alert webhooks: payloads, HMAC signatures and the `Dispatcher` that drains the outbox.

Each request carries ``X-Edgewatch-Signature: t=<unix ms>,v1=<hex>``, where ``v1`` is
HMAC-SHA256 with the shared secret over ``<t>.<body>``; receivers recompute it and reject
timestamps older than their tolerance (replays). ``X-Edgewatch-Event-Id`` lets them drop
duplicates. The dispatcher retries every failure with exponential backoff and full jitter
(capped), keeps each incident's events in order, and limits each endpoint's request rate.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal

import httpx
import orjson

from edgewatch.errors import SignatureError
from edgewatch.incidents import IncidentEvent
from edgewatch.pipeline.alerts.outbox import Outbox, Pending

__all__ = [
    "EVENT_HEADER",
    "SIGNATURE_HEADER",
    "Dispatcher",
    "payload",
    "sign",
    "verify",
]

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Edgewatch-Signature"
EVENT_HEADER = "X-Edgewatch-Event-Id"
PayloadFormat = Literal["edgewatch", "alertmanager"]


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def sign(secret: bytes, timestamp_ms: int, body: bytes) -> str:
    mac = hmac.new(secret, str(timestamp_ms).encode() + b"." + body, hashlib.sha256)
    return f"t={timestamp_ms},v1={mac.hexdigest()}"


def verify(
    secret: bytes, header: str | None, body: bytes, now_ms: int, tolerance_ms: int = 300_000
) -> int:
    """The signed timestamp if ``header`` signs ``body`` with ``secret`` within the tolerance;
    else `SignatureError` saying which check failed."""
    if not header:
        raise SignatureError(f"missing {SIGNATURE_HEADER} header")
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        stamp = int(parts["t"])
        given = parts["v1"]
    except (KeyError, ValueError) as exc:
        raise SignatureError(
            f"{SIGNATURE_HEADER} must be 't=<ms>,v1=<hex>'; got {header!r}"
        ) from exc
    if abs(now_ms - stamp) > tolerance_ms:
        raise SignatureError(
            f"signature timestamp {stamp} is {abs(now_ms - stamp) / 1000:.0f} s from now; "
            f"the tolerance is {tolerance_ms / 1000:.0f} s (a replay, or clocks apart)"
        )
    expected = sign(secret, stamp, body).split("v1=", 1)[1]
    if not hmac.compare_digest(expected, given):
        raise SignatureError("signature does not match the body (tampered, or another secret)")
    return stamp


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def payload(event: IncidentEvent, fmt: PayloadFormat = "edgewatch") -> bytes:
    """The request body: the incident event as is, or an Alertmanager-style webhook message."""
    if fmt == "edgewatch":
        return event.encode()
    alert = {
        "status": "resolved" if event.kind == "resolved" else "firing",
        "labels": {
            "alertname": "EdgewatchIncident",
            "asset": event.asset,
            "incident_id": event.incident_id,
            "source": event.source,
        },
        "annotations": {
            "summary": f"anomaly on {event.asset} ({event.kind})",
            "top_channels": ",".join(event.top_channels),
            "peak_score": f"{event.peak_score:.4f}",
        },
        "startsAt": _iso(event.opened_ts),
        "endsAt": _iso(event.ts) if event.kind == "resolved" else "0001-01-01T00:00:00Z",
        "fingerprint": event.incident_id,
    }
    return orjson.dumps(
        {
            "version": "4",
            "status": alert["status"],
            "receiver": "edgewatch",
            "groupKey": event.incident_id,
            "alerts": [alert],
            "commonLabels": alert["labels"],
            "event": event.as_dict(),
        }
    )


class _Bucket:
    """Token bucket: ``rate`` requests per second, bursts up to ``rate``."""

    def __init__(self, rate: float) -> None:
        self.rate, self.tokens, self.stamp = rate, rate, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class Dispatcher:
    """Delivers due outbox rows; `start` runs it in a daemon thread until `stop`."""

    def __init__(
        self,
        outbox: Outbox,
        secret: bytes,
        *,
        timeout_s: float = 5.0,
        backoff_ms: int = 500,
        max_backoff_ms: int = 60_000,
        rate_per_s: float = 20.0,
        on_outcome: Callable[[str], None] | None = None,
        now_ms: Callable[[], int] = _now_ms,
        seed: int | None = None,
    ) -> None:
        self.outbox, self.secret = outbox, secret
        self.backoff_ms, self.max_backoff_ms, self.rate_per_s = (
            backoff_ms,
            max_backoff_ms,
            rate_per_s,
        )
        self.on_outcome = on_outcome or (lambda _: None)
        self.now_ms = now_ms
        self._rng = random.Random(seed)
        self._buckets: dict[str, _Bucket] = {}
        self._client = httpx.Client(timeout=timeout_s)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _deliver(self, row: Pending) -> None:
        stamp = self.now_ms()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self.secret, stamp, row.body),
            EVENT_HEADER: row.event_id,
        }
        try:
            response = self._client.post(row.endpoint, content=row.body, headers=headers)
            ok, error = response.is_success, f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            ok, error = False, f"{type(exc).__name__}: {exc}"
        if ok:
            self.outbox.delivered(row.id, self.now_ms())
            self.on_outcome("delivered")
            return
        cap = min(self.max_backoff_ms, self.backoff_ms * 2**row.attempts)
        retry_in = self._rng.uniform(0, cap)  # full jitter
        self.outbox.failed(row.id, error, self.now_ms() + int(retry_in))
        self.on_outcome("failed")
        log.warning(
            "webhook endpoint=%s event=%s attempt=%d failed: %s; retry in %.1f s",
            row.endpoint, row.event_id, row.attempts + 1, error, retry_in / 1000,
        )  # fmt: skip

    def run_once(self) -> int:
        """Deliver what is due now (within each endpoint's rate); return how many were tried."""
        tried = 0
        for row in self.outbox.due(self.now_ms()):
            bucket = self._buckets.setdefault(row.endpoint, _Bucket(self.rate_per_s))
            if not bucket.take():
                continue
            self._deliver(row)
            tried += 1
        return tried

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                tried = self.run_once()
            except Exception:  # never let the thread die; the rows stay in the outbox
                log.exception("webhook dispatcher error")
                tried = 0
            if not tried:
                self._stop.wait(0.1)

    def start(self) -> Dispatcher:
        self._thread = threading.Thread(target=self._loop, name="edgewatch-webhooks", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._client.close()
