"""(e) The model per window, and (g) what the cascade saves: CPU time per record with the gate
off and on, broker-free.

The same simulated-fleet records go through the member's cascade (`build_cascade`) with the
gate off (every window scored) and with the default gate (the sentinel), fed one record at a
time (an edge device scoring each window as it completes) and in the member's batches. CPU time
is the process's (`time.process_time`: every thread, ONNX Runtime's included), so it measures
work, not waiting; no power figure is assumed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from edgewatch.models.artifacts import OnnxModel
from edgewatch.pipeline.app import build_cascade, gate_of
from edgewatch.pipeline.settings import DetectorSettings
from edgewatch.producers.simulated import simulate_fleet

__all__ = ["CascadeCost", "cascade_costs", "model_us"]


@dataclass(frozen=True, slots=True)
class CascadeCost:
    gate: str
    batch: int  # records per call
    cpu_us: float  # CPU time per record
    wake_rate: float  # share of windows the model scored


def cascade_costs(
    cfg: DetectorSettings, model: OnnxModel, records: int = 20_000, batch: int = 2_000
) -> list[CascadeCost]:
    """Gate off and ``cfg``'s gate (unless that is off too), at batch 1 and ``batch``."""
    stream = list(simulate_fleet().records(limit=records))
    gates = [cfg.model_copy(update={"gate": "off", "wake_rate": None})]
    if gate_of(cfg, model.card) != "off":
        gates.append(cfg)
    out = []
    for gated in gates:
        for size in (1, batch):
            cascade = build_cascade(gated, model)
            windows = woken = 0
            began = time.process_time()
            for start in range(0, len(stream), size):
                scored = cascade.process(stream[start : start + size])
                windows += len(scored)
                woken += sum(s.woken for s in scored)
            spent = time.process_time() - began
            out.append(
                CascadeCost(
                    gate_of(gated, model.card),
                    size,
                    spent / len(stream) * 1e6,
                    woken / windows if windows else 0.0,
                )
            )
    return out


def model_us(model: OnnxModel) -> dict[str, float]:
    """(e) The model's wall time per window at batch 1 and 256 (median of repeats)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, model.seq_len, len(model.channels))).astype(np.float32)
    out = {}
    for batch in (1, 256):
        model.score(x[:batch])
        times = []
        for _ in range(200 if batch == 1 else 30):
            start = time.perf_counter()
            model.score(x[:batch])
            times.append(time.perf_counter() - start)
        out[f"b{batch}"] = float(np.median(times)) / batch * 1e6
    return out
