"""`edgewatch evaluate` on any labelled stream: the member's detector and incident tracker, fed
the records in event-time order without a broker, scored point-wise, event-wise and by early
detection.

Two readings of "a detection" are scored: every record decided anomalous, and every incident
opened (what pages a person). The early-detection score (`EarlyDetection`, NAB-style standard
profile) counts each reading's false alarms; the alarm rate is the share of normal (label 0)
records decided anomalous, to set against the target ``detector.alarm_rate``. The command line
also streams the same records through the windowed-Gaussian baseline (`BaselineDetector`) at
the same alarm rate: the reference row a detector has to beat.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from edgewatch.operators import Confusion, EventRecall
from edgewatch.operators.base import Scored
from edgewatch.operators.baseline import BASELINE, STEP, WINDOW
from edgewatch.operators.evaluation import EarlyDetection
from edgewatch.pipeline.app import build_detector, build_tracker
from edgewatch.pipeline.settings import DetectorSettings, IncidentSettings
from edgewatch.records import SensorRecord

__all__ = ["StreamScores", "evaluate_any", "markdown"]


class Scoring(Protocol):
    """What `evaluate_any` needs of a detector (the member's `Router`, or the baseline)."""

    def process(self, batch: list[SensorRecord]) -> list[Scored]: ...
    @property
    def warming(self) -> int: ...
    @property
    def unfit(self) -> int: ...


@dataclass
class _Asset:
    labels: list[int] = field(default_factory=list)
    decided: list[bool] = field(default_factory=list)
    opened: list[bool] = field(default_factory=list)


@dataclass
class StreamScores:
    records: int = 0
    warmup: int = 0
    unfit: int = 0
    confusion: Confusion = field(default_factory=Confusion)
    events: EventRecall = field(default_factory=EventRecall)
    early_decisions: EarlyDetection = field(default_factory=EarlyDetection)
    early_incidents: EarlyDetection = field(default_factory=EarlyDetection)
    incidents: int = 0
    models: dict[str, int] = field(default_factory=dict)  # records scored per detector

    def as_dict(self) -> dict[str, Any]:
        c, e = self.confusion, self.events
        delays = sorted(e.delays_ms)
        normal = c.fp + c.tn
        return {
            "records": self.records,
            "warmup_records": self.warmup,
            "unfit_records": self.unfit,
            "scored_by": self.models,
            "f1": round(c.f1, 4),
            "precision": round(c.precision, 4),
            "recall": round(c.recall, 4),
            "alarm_rate_on_normal": round(c.fp / normal, 5) if normal else None,
            "events_detected": e.detected,
            "events": e.detected + e.missed,
            "median_delay_ms": delays[len(delays) // 2] if delays else None,
            "incidents_opened": self.incidents,
            "early_score_decisions": round(self.early_decisions.score, 1),
            "false_alarms_decisions": self.early_decisions.false_alarms,
            "early_score_incidents": round(self.early_incidents.score, 1),
            "false_alarms_incidents": self.early_incidents.false_alarms,
        }


def evaluate_any(
    records: Iterable[SensorRecord],
    detector_cfg: DetectorSettings,
    incident_cfg: IncidentSettings,
    batch: int = 2_000,
    on_progress: Callable[[int], None] | None = None,
    detector: Scoring | None = None,
) -> StreamScores:
    """Stream ``records`` (in event-time order) through the member's detector (or ``detector``)
    and incident tracker."""
    tracker = build_tracker(incident_cfg)
    if detector is None:
        detector = build_detector(detector_cfg)
    out = StreamScores()
    assets: dict[str, _Asset] = defaultdict(_Asset)
    row: dict[tuple[str, int], int] = {}  # (asset, seq) -> the record's row in its asset
    at_ts: dict[tuple[str, int], int] = {}  # (asset, ts) -> the same (events carry ts)
    chunk: list[SensorRecord] = []

    def flush() -> None:
        scored = detector.process(chunk)
        out.confusion.update(scored)
        out.events.update(scored)
        for item in scored:
            r = item.record
            if item.decision:
                assets[r.asset].decided[row[r.asset, r.seq]] = True
            name = item.model.name if item.model is not None else "model"
            out.models[name] = out.models.get(name, 0) + 1
        for event in tracker.process(scored):
            if event.kind == "opened":
                out.incidents += 1
                assets[event.asset].opened[at_ts[event.asset, event.ts]] = True
        out.records += len(chunk)
        chunk.clear()
        row.clear()
        at_ts.clear()
        if on_progress is not None:
            on_progress(out.records)

    for record in records:
        a = assets[record.asset]
        row[record.asset, record.seq] = at_ts[record.asset, record.ts] = len(a.labels)
        a.labels.append(record.label or 0)
        a.decided.append(False)
        a.opened.append(False)
        chunk.append(record)
        if len(chunk) >= batch:
            flush()
    if chunk:
        flush()
    out.events.finish()
    for a in assets.values():
        if any(a.labels):
            out.early_decisions.add(a.labels, a.decided)
            out.early_incidents.add(a.labels, a.opened)
    out.warmup, out.unfit = detector.warming, detector.unfit
    return out


def markdown(title: str, cfg: DetectorSettings, result: dict[str, Any]) -> str:
    """The table of ``result`` (`StreamScores.as_dict`), and of its ``baseline`` if present."""
    model = "default (by stream)" if cfg.model is None else str(cfg.model)
    scored_by = ", ".join(f"{k} {v:,}" for k, v in result["scored_by"].items())
    lines = [
        f"# Streaming evaluation: {title}",
        "",
        f"Detector: {model}; online alarm rate target {cfg.alarm_rate}. Records: "
        f"{result['records']:,} ({result['warmup_records']:,} warm-up, "
        f"{result['unfit_records']:,} unfit); scored by: {scored_by}.",
        "",
        "| detector | reading | early-detection score | false alarms | F1 | P | R | alarm rate "
        "on normal | events detected | median delay ms | incidents |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *_rows(model, result),
    ]
    baseline = result.get("baseline")
    if baseline is not None:
        lines += _rows(f"{BASELINE} baseline", baseline)
    lines += [
        "",
        "Early-detection score: NAB-style standard profile (0 = no detections, 100 = every "
        "window caught at its start and no false alarm).",
    ]
    if baseline is not None:
        lines.append(
            f"Baseline: each channel's Gaussian over its last {WINDOW:,} readings "
            f"(refreshed every {STEP}), alarming at the same target rate."
        )
    return "\n".join(lines) + "\n"


def _rows(name: str, r: dict[str, Any]) -> list[str]:
    return [
        f"| {name} | records decided anomalous | {r['early_score_decisions']:.1f} | "
        f"{r['false_alarms_decisions']} | {r['f1']:.4f} | {r['precision']:.4f} | "
        f"{r['recall']:.4f} | {r['alarm_rate_on_normal']} | {r['events_detected']} of "
        f"{r['events']} | {r['median_delay_ms']} | |",
        f"| {name} | incidents opened | {r['early_score_incidents']:.1f} | "
        f"{r['false_alarms_incidents']} | | | | | | | {r['incidents_opened']} |",
    ]
