"""`edgewatch evaluate`: stream a data set's test split through the cascade, broker-free.

The same operators the member runs, fed the records in event-time order in batches, with the
decisions scored against the labels point-wise and event-wise. One row per gate setting, next to
the offline evaluation of the same artifact (the card's test metrics) for parity.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgewatch.errors import ConfigError
from edgewatch.models.artifacts import OnnxModel
from edgewatch.operators import Confusion, EventRecall, Scored
from edgewatch.pipeline.app import build_cascade, gate_of
from edgewatch.pipeline.settings import DetectorSettings
from edgewatch.producers.cmapss import FD001
from edgewatch.producers.simulated import simulate_fleet
from edgewatch.records import SensorRecord

__all__ = ["StreamResult", "evaluate_stream", "gate_label", "markdown", "test_records"]


def test_records(dataset: str, folder: Path | None) -> list[SensorRecord]:
    """The test split as records: simulated's last 15% of each asset, FD001's official test."""
    if dataset == "simulated":
        return list(simulate_fleet().records(split="test"))
    if folder is None:
        raise ConfigError("fd001 needs --path FOLDER of the C-MAPSS files")
    return list(FD001(folder, "test").records())


@dataclass(frozen=True, slots=True)
class StreamResult:
    gate: str  # what woke the model: off, prefilter at a target, or the sentinel
    confusion: Confusion
    events: EventRecall
    windows: int
    woken: int
    warmup: int
    unfit: int
    records_per_s: float
    last: Confusion  # each asset's last scored window only (FD001: a unit's last cycle)

    def as_dict(self) -> dict[str, Any]:
        c, e = self.confusion, self.events
        delays = sorted(e.delays_ms)
        return {
            "gate": self.gate,
            "wake_rate": round(self.woken / self.windows, 4) if self.windows else 0.0,
            "f1": round(c.f1, 4),
            "precision": round(c.precision, 4),
            "recall": round(c.recall, 4),
            "tp": c.tp, "fp": c.fp, "tn": c.tn, "fn": c.fn,
            "events_detected": e.detected,
            "events": e.detected + e.missed,
            "median_delay_ms": delays[len(delays) // 2] if delays else None,
            "windows": self.windows,
            "warmup_records": self.warmup,
            "unfit_records": self.unfit,
            "records_per_s": round(self.records_per_s),
            "last_cycle_f1": round(self.last.f1, 4),
            "last_cycle_assets": self.last.tp + self.last.fp + self.last.tn + self.last.fn,
        }  # fmt: skip


def gate_label(cfg: DetectorSettings, card: dict[str, Any] | None = None) -> str:
    gate = gate_of(cfg, card)
    if gate == "prefilter":
        return f"prefilter, target {cfg.wake_rate:.2f}"
    return f"sentinel, confidence {cfg.confidence:.2f}" if gate == "sentinel" else "off"


def evaluate_stream(
    records: Sequence[SensorRecord],
    model: OnnxModel,
    cfg: DetectorSettings,
    batch: int = 2_000,
    on_progress: Callable[[int], None] | None = None,
) -> StreamResult:
    cascade = build_cascade(cfg, model)
    confusion, events, last = Confusion(), EventRecall(), Confusion()
    newest: dict[str, Scored] = {}
    windows = woken = 0
    started = time.perf_counter()
    for i in range(0, len(records), batch):
        scored = cascade.process(list(records[i : i + batch]))
        confusion.update(scored)
        events.update(scored)
        newest.update((s.record.asset, s) for s in scored)
        windows += len(scored)
        woken += sum(1 for s in scored if s.woken)
        if on_progress is not None:
            on_progress(min(i + batch, len(records)))
    events.finish()  # the split ends: segments still open count too
    last.update(newest.values())
    elapsed = time.perf_counter() - started
    return StreamResult(
        gate_label(cfg, model.card),
        confusion,
        events,
        windows,
        woken,
        cascade.warming,
        cascade.unfit,
        len(records) / elapsed if elapsed > 0 else 0.0,
        last,
    )


def markdown(
    dataset: str, card: dict[str, Any], cfg: DetectorSettings, rows: list[dict[str, Any]]
) -> str:
    offline = card.get("metrics", {}).get("test_int8", {})
    per_unit = dataset == "fd001"
    lines = [
        f"# Streaming evaluation: {dataset}, test split",
        "",
        f"Model {card['name']} (sha256 {str(card['sha256'])[:12]}); prefilter {cfg.prefilter}, "
        f"learn {cfg.learn}, hold {cfg.hold}. Offline evaluation of the same artifact on the "
        f"same split: F1 {offline.get('f1', float('nan')):.4f}.",
        "",
        "| gate | wake rate | F1 | P | R | events detected | median delay ms |"
        + (" last-cycle F1 |" if per_unit else ""),
        "|---|---|---|---|---|---|---|" + ("---|" if per_unit else ""),
    ]
    for r in rows:
        lines.append(
            f"| {r['gate']} | {r['wake_rate']:.3f} | {r['f1']:.4f} | {r['precision']:.4f} | "
            f"{r['recall']:.4f} | {r['events_detected']} of {r['events']} | "
            f"{r['median_delay_ms'] if r['median_delay_ms'] is not None else ''} |"
            + (f" {r['last_cycle_f1']:.4f} ({r['last_cycle_assets']} units) |" if per_unit else "")
        )
    if per_unit:
        lines += [
            "",
            "Last-cycle F1: the decision on each test unit's last observed cycle against its true "
            "RUL <= 30 (will it fail within 30 cycles?), as C-MAPSS results are usually published.",
        ]
    return "\n".join(lines) + "\n"
