"""`edgewatch models compare`: the paper's comparison table, measured on this machine.

Every variant is trained from the same seed on the same splits; its threshold is chosen on the
validation split and its metrics read on the test split. Latency is the median wall time per
window at batch 1 and batch 256 on one CPU thread, for torch FP32 and ONNX Runtime FP32 / INT8.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import torch
from torch import nn

from edgewatch.models.artifacts import load_model
from edgewatch.models.baselines import baselines
from edgewatch.models.metrics import best_threshold, bootstrap_f1, evaluate, last_cycle_f1
from edgewatch.models.oracle import ORACLE, oracle_scores
from edgewatch.models.train import TrainConfig, predict
from edgewatch.models.variants import (
    Trained,
    as_onnx,
    as_torch,
    collaborative,
    onnx_session,
    prune_and_finetune,
    train_autoencoder,
    train_network,
)
from edgewatch.models.windows import Splits

__all__ = ["NETWORKS", "compare", "latency_us", "markdown", "test_rows"]


def latency_us(fn: Callable[[np.ndarray], object], x: np.ndarray, budget_s: float = 0.5) -> float:
    """Median microseconds per window of ``fn(x)`` over repeated calls (after a warm-up)."""
    fn(x)
    times: list[float] = []
    deadline = time.perf_counter() + budget_s
    while len(times) < 5 or (time.perf_counter() < deadline and len(times) < 200):
        start = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - start)
    return float(np.median(times)) / len(x) * 1e6


def _latencies(
    model: nn.Module, splits: Splits, x: np.ndarray, budget_s: float
) -> dict[str, float]:
    out: dict[str, float] = {}
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        fp32, _ = onnx_session(model, splits, int8=False, folder=Path(tmp))
        int8, _ = onnx_session(model, splits, int8=True, folder=Path(tmp))
        runners = {
            "torch_fp32": lambda b: predict(model, b),
            "ort_fp32": lambda b: fp32.run(None, {"window": b}),
            "ort_int8": lambda b: int8.run(None, {"window": b}),
        }
        for name, run in runners.items():
            for batch in (1, 256):
                out[f"{name}_b{batch}_us"] = round(latency_us(run, x[:batch], budget_s), 2)
    return out


def test_rows(splits: Splits, score: np.ndarray, threshold: float) -> dict[str, Any]:
    """The test metrics of ``score`` at ``threshold``, with a 95% bootstrap interval of F1 over
    the test split's units or assets and, for FD001, the F1 on each test unit's last observed
    cycle (will it fail within 30 cycles? as C-MAPSS results are usually published)."""
    y, group = splits.test.y, splits.test.group
    row: dict[str, Any] = evaluate(y, score, threshold).as_dict()
    if group.size:
        low, high = bootstrap_f1(y, score >= threshold, group)
        row["f1_ci95"] = [round(low, 4), round(high, 4)]
    if splits.dataset == "fd001" and group.size:
        row["f1_last_cycle"] = round(last_cycle_f1(y, score, threshold, group), 6)
        row["last_cycle_units"] = int(np.unique(group).size)
    return row


def _scored(
    name: str, runtime: str, splits: Splits, val: np.ndarray, test: np.ndarray
) -> dict[str, Any]:
    """A row's metrics from its validation and test scores (threshold chosen on validation)."""
    threshold = best_threshold(splits.val.y, val)
    return {
        "model": name,
        "runtime": runtime,
        "val_f1": round(evaluate(splits.val.y, val, threshold).f1, 6),
        **test_rows(splits, test, threshold),
    }


def _row(variant: Trained, splits: Splits, latencies: dict[str, float]) -> dict[str, Any]:
    val, test = variant.score(splits.val.x), variant.score(splits.test.x)
    row: dict[str, Any] = {
        **_scored(variant.name, variant.runtime, splits, val, test),
        "parameters": variant.parameters,
        "size_kb": round(variant.size_bytes / 1024, 1),
        **latencies,
    }
    if variant.wake_rate is not None:
        row["wake_rate_val"] = round(variant.wake_rate, 4)
    return row


NETWORKS = (
    ("lstm", "LSTM"),
    ("cnn", "1D-CNN"),
    ("cnn_lstm", "1DCNN-LSTM"),
    ("light_cnn_lstm", "lightweight 1DCNN-LSTM"),
    ("amcnn_lstm", "AMCNN-LSTM (attention, two conv scales)"),
    ("tcn", "TCN (dilated causal convolutions)"),
    ("transformer", "small Transformer (2 layers, 4 heads)"),
    ("sentinel_lstm", "sentinel LSTM (alone)"),
    ("edge_cnn_lstm", "Edge-1DCNN-LSTM FP32 (ours)"),
)


def _native_latencies(variant: Trained, x: np.ndarray, budget_s: float) -> dict[str, float]:
    return {
        f"native_b{batch}_us": round(latency_us(variant.score, x[:batch], budget_s), 2)
        for batch in (1, 256)
    }


def compare(
    splits: Splits,
    cfg: TrainConfig,
    out_dir: Path,
    confidence: float = 0.9,
    latency_budget_s: float = 0.5,
    on_progress: Callable[[str], None] | None = None,
    shipped: Path | None = None,
) -> list[dict[str, Any]]:
    """Train and measure every variant; write ``compare.json`` and ``compare.md`` to ``out_dir``.

    ``shipped``: a card whose artifact reads these windows gets its own row (the file itself,
    scored by ONNX Runtime, with its card's threshold left aside: chosen again on validation)."""
    say = on_progress or (lambda _: None)
    x_lat = splits.test.x[:256]
    rows: list[dict[str, Any]] = []
    for label, fit in baselines(splits, cfg.seed):
        say(f"fitting {label}")
        variant = fit()
        rows.append(_row(variant, splits, _native_latencies(variant, x_lat, latency_budget_s)))
    if splits.fleet is not None:
        say("fitting the oracle (it knows each asset's clean signal)")
        rows.append(_scored(ORACLE, "scikit-learn", splits, *oracle_scores(splits, cfg.seed)))

    networks: dict[str, nn.Module] = {}
    for name, label in NETWORKS:
        say(f"training {label}")
        networks[name] = train_network(name, splits, cfg)
        rows.append(
            _row(
                as_torch(label, networks[name], splits),
                splits,
                _latencies(networks[name], splits, x_lat, latency_budget_s),
            )
        )

    say("pruning 1DCNN-LSTM to 75% sparsity and fine-tuning")
    pruned = prune_and_finetune(train_network("cnn_lstm", splits, cfg), splits, cfg)
    rows.append(
        _row(
            as_torch("pruned 1DCNN-LSTM (75% L1)", pruned, splits),
            splits,
            _latencies(pruned, splits, x_lat, latency_budget_s),
        )
    )

    say("quantizing")
    for name, label in (
        ("cnn_lstm", "quantized 1DCNN-LSTM (INT8)"),
        ("edge_cnn_lstm", "Edge-1DCNN-LSTM INT8 (ours)"),
    ):
        rows.append(
            _row(
                as_onnx(label, networks[name], splits, int8=True),
                splits,
                _latencies(networks[name], splits, x_lat, latency_budget_s),
            )
        )
    model = load_model(shipped) if shipped is not None else None
    if model is not None and _reads(model.card, splits):
        variant = Trained(
            f"shipped artifact {model.card['name']} (INT8)",
            model.score,
            int(model.card["parameters"]),
            int(model.card["size_bytes"]["onnx_int8"]),
            "onnxruntime",
        )
        rows.append(_row(variant, splits, _native_latencies(variant, x_lat, latency_budget_s)))

    say("training the LSTM autoencoder on normal windows")
    autoencoder = train_autoencoder(splits, cfg)
    rows.append(
        _row(
            as_torch("LSTM autoencoder (normal windows only)", autoencoder, splits),
            splits,
            _latencies(autoencoder, splits, x_lat, latency_budget_s),
        )
    )

    sentinel = as_torch("sentinel", networks["sentinel_lstm"], splits)
    full = as_torch("full", networks["cnn_lstm"], splits)
    rows.append(_row(collaborative(sentinel, full, confidence, splits.val.x), splits, {}))

    out_dir.mkdir(parents=True, exist_ok=True)
    report = {
        "dataset": splits.dataset,
        "seq_len": splits.seq_len,
        "channels": splits.channels,
        "data": dict(splits.description),
        "config": asdict(cfg),
        "rows": rows,
    }
    (out_dir / "compare.json").write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    (out_dir / "compare.md").write_text(markdown(report))
    return rows


def _reads(card: dict[str, Any], splits: Splits) -> bool:
    """Does the card read windows like these (data set, window length, channels, padding)?"""
    return (
        card.get("dataset") == splits.dataset
        and int(card["seq_len"]) == splits.seq_len
        and list(card["channels"]) == splits.channels
        and bool(card.get("pad_start", False)) == splits.pad_start
    )


COLUMNS = (
    ("model", "model"), ("val_f1", "val F1"), ("f1", "F1"), ("f1_ci95", "F1 95% CI"),
    ("f1_last_cycle", "last-cycle F1"),
    ("precision", "P"), ("recall", "R"), ("roc_auc", "ROC-AUC"),
    ("pr_auc", "PR-AUC"), ("parameters", "params"), ("size_kb", "KB"),
    ("torch_fp32_b1_us", "torch b1 µs"), ("torch_fp32_b256_us", "torch b256 µs"),
    ("ort_fp32_b1_us", "ORT FP32 b1"), ("ort_fp32_b256_us", "ORT FP32 b256"),
    ("ort_int8_b1_us", "ORT INT8 b1"), ("ort_int8_b256_us", "ORT INT8 b256"),
    ("native_b1_us", "own runtime b1"), ("native_b256_us", "own runtime b256"),
)  # fmt: skip


_METRICS = ("val_f1", "f1", "f1_last_cycle", "precision", "recall", "roc_auc", "pr_auc")


def _setup(report: dict[str, Any]) -> str:
    data = report.get("data", {})
    cfg = report.get("config", {})
    parts = [f"windows of {report['seq_len']} readings of {len(report.get('channels', []))} "
             f"channel(s) ({', '.join(report.get('channels', []))})"]  # fmt: skip
    if data.get("pad_start"):
        parts.append("every reading ends a window (the first repeated before it)")
    parts.append(f"networks fitted to {data.get('target', 'the 0/1 label')}")
    if cfg.get("weight_decay"):
        parts.append(f"AdamW weight decay {cfg['weight_decay']}")
    parts.append(f"seed {cfg.get('seed')}")
    return "; ".join(parts) + "."


def markdown(report: dict[str, Any]) -> str:
    rows: list[dict[str, Any]] = report["rows"]
    columns = [(k, t) for k, t in COLUMNS if any(row.get(k) is not None for row in rows)]
    head = "| " + " | ".join(title for _, title in columns) + " |"
    rule = "|" + "|".join("---" for _ in columns) + "|"

    def cell(key: str, value: object) -> str:
        if isinstance(value, list):
            return f"{value[0]:.3f}-{value[1]:.3f}"
        if isinstance(value, float):
            if key in _METRICS:
                return f"{value:.4f}"
            return f"{value:,.1f}" if value >= 10 else f"{value:.2f}"
        return "" if value is None else f"{value:,}" if isinstance(value, int) else str(value)

    lines = [
        f"# Model comparison: {report['dataset']}",
        "",
        _setup(report),
        "",
        "Thresholds chosen on validation (val F1: there, at that threshold); the other metrics",
        "on test; latency per window, one CPU thread.",
        "F1 95% CI: 2.5th-97.5th percentile of F1 over 2,000 resamples of the test split's units",
        "(FD001) or assets (simulated), drawn whole with replacement. Last-cycle F1 (FD001): each",
        "test unit's last observed cycle only, labelled by its true RUL <= 30. Baselines",
        "(scikit-learn) are fitted to the labels or, unsupervised, to the normal training windows;",
        "their KB is the pickled estimator and their latency is scikit-learn's own (own runtime).",
        "",
        head,
        rule,
    ]
    lines += [
        "| " + " | ".join(cell(key, row.get(key)) for key, _ in columns) + " |" for row in rows
    ]
    return "\n".join(lines) + "\n"
