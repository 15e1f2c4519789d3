"""Per-source and per-asset metrics behind a cap, for the asset drill-down dashboard.

Label values come from the records, so they are untrusted: the first ``cap`` distinct values of
a label get their own series, every later one is counted under ``_other``. Cardinality is
bounded whatever producers send.
"""

from __future__ import annotations

from collections import Counter as Tally

from prometheus_client import CollectorRegistry, Counter, Gauge

from edgewatch.operators.base import Scored

__all__ = ["OTHER", "AssetMetrics", "BoundedLabel"]

OTHER = "_other"


class BoundedLabel:
    """The value itself for the first ``cap`` distinct values, then `OTHER`."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.known: set[str] = set()

    def __call__(self, value: str) -> str:
        if value in self.known:
            return value
        if len(self.known) < self.cap:
            self.known.add(value)
            return value
        return OTHER


class AssetMetrics:
    def __init__(self, registry: CollectorRegistry, asset_cap: int = 100, source_cap: int = 20):
        self.source = BoundedLabel(source_cap)
        self.asset = BoundedLabel(asset_cap)
        labels = ["source", "asset"]
        self.windows = Counter(
            "edgewatch_asset_windows_total", "Windows scored, per asset (capped).", labels,
            registry=registry,
        )  # fmt: skip
        self.detections = Counter(
            "edgewatch_asset_detections_total", "Windows decided anomalous, per asset (capped).",
            labels, registry=registry,
        )  # fmt: skip
        self.score = Gauge(
            "edgewatch_asset_score", "Model score of the asset's newest window (capped).", labels,
            registry=registry,
        )  # fmt: skip
        self._was_open: set[tuple[str, str]] = set()
        self.incident_open = Gauge(
            "edgewatch_asset_incident_open", "1 while the asset has an open incident (capped).",
            labels, registry=registry,
        )  # fmt: skip

    def update(self, scored: list[Scored], open_assets: set[tuple[str, str]]) -> Tally[str]:
        """Count ``scored``; mark ``open_assets`` ((source, asset) with an open incident).
        Return the windows flagged per (capped) source, with 0 for sources seen unflagged."""
        raw = [(item.record.source, item.record.asset) for item in scored]
        raw_flagged = Tally(key for key, item in zip(raw, scored, strict=True) if item.decision)
        raw_newest = dict(zip(raw, [item.score for item in scored], strict=True))  # last wins
        windows: Tally[tuple[str, str]] = Tally()
        flagged: Tally[tuple[str, str]] = Tally()
        newest: dict[tuple[str, str], float] = {}
        for key, count in Tally(raw).items():  # label each distinct key once, in batch order
            label = (self.source(key[0]), self.asset(key[1]))
            windows[label] += count
            flagged[label] += raw_flagged[key]
            newest[label] = raw_newest[key]
        for key, count in windows.items():
            self.windows.labels(*key).inc(count)
            self.detections.labels(*key).inc(flagged[key])
            self.score.labels(*key).set(newest[key])
        now_open = {(self.source(s), self.asset(a)) for s, a in open_assets}
        now_open = {key for key in now_open if OTHER not in key}
        for key in self._was_open - now_open:
            self.incident_open.labels(*key).set(0.0)
        for key in now_open:
            self.incident_open.labels(*key).set(1.0)
        self._was_open = now_open
        by_source: Tally[str] = Tally()
        for (source, _), count in flagged.items():
            by_source[source] += count
        return by_source
