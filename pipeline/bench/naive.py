"""The baseline of the bench: what one would write by hand from the seed code.

A per-record loop on the same Kafka client: decode, River HalfSpaceTrees (``score_one`` then
``learn_one``, behind River's usual MinMaxScaler), and for the records it flags the torch FP32
Edge-1DCNN-LSTM on the asset's window at batch 1, then produce the detection. HalfSpaceTrees'
scores sit in a narrow band near 1 on these streams, so the flag threshold is calibrated by hand
the simple way: the ``1 - flag_rate`` quantile of the first ``calibration`` scores (nothing is
flagged before), so the model runs for about ``flag_rate`` of the records. The network has the
shipped model's architecture with seeded weights: its cost does not depend on the weights.
Needs the train extra (torch).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
from kafka import KafkaConsumer, KafkaProducer

from edgewatch.errors import DependencyMissingError, RecordError
from edgewatch.records import decode_record

__all__ = ["NaiveResult", "naive_loop"]


@dataclass(frozen=True, slots=True)
class NaiveResult:
    records: int
    seconds: float
    flagged: int  # records HalfSpaceTrees flagged (the model ran on their window)

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0


def naive_loop(
    bootstrap: str,
    topic: str,
    out_topic: str,
    expected: int,
    card: dict[str, Any],
    flag_rate: float = 0.3,
    calibration: int = 2_000,
    timeout_s: float = 300.0,
) -> NaiveResult:
    try:
        import torch
        from river import anomaly, compose, preprocessing

        from edgewatch.models.networks import build
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise DependencyMissingError(
            "the hand-written baseline needs torch: pip install 'edgewatch[train]'"
        ) from exc
    torch.manual_seed(42)
    torch.set_num_threads(1)
    channels, seq_len = list(card["channels"]), int(card["seq_len"])
    net = build("edge_cnn_lstm", len(channels)).eval()
    threshold = float(card["threshold"])
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"naive-{topic}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_poll_interval_ms=10_000,
        session_timeout_ms=10_000,
        fetch_max_wait_ms=100,
        consumer_timeout_ms=int(timeout_s * 1000),
    )
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    detectors: dict[str, Any] = {}
    windows: dict[str, deque[list[float]]] = {}
    seen = flagged = 0
    started: float | None = None
    first: list[float] = []
    hst_threshold = float("inf")
    try:
        for message in consumer:
            if started is None:
                started = time.perf_counter()
            seen += 1
            try:
                record = decode_record(message.value)
            except RecordError:
                continue
            x = record.values
            hst = detectors.get(record.asset)
            if hst is None:
                hst = detectors[record.asset] = compose.Pipeline(
                    preprocessing.MinMaxScaler(), anomaly.HalfSpaceTrees(seed=42)
                )
            score = hst.score_one(x)
            hst.learn_one(x)
            if len(first) < calibration:
                first.append(score)
                if len(first) == calibration:
                    hst_threshold = float(np.quantile(first, 1.0 - flag_rate))
            window = windows.setdefault(record.asset, deque(maxlen=seq_len))
            window.append([x[c] for c in channels])
            if score >= hst_threshold and len(window) == seq_len:
                flagged += 1
                with torch.no_grad():
                    p = float(net(torch.tensor(np.array([window]), dtype=torch.float32)))
                if p >= threshold:
                    detection = {"asset": record.asset, "seq": record.seq, "score": p}
                    producer.send(out_topic, key=message.key, value=orjson.dumps(detection))
            if seen >= expected:
                break
        producer.flush()
        consumer.commit()
    finally:
        producer.close()
        consumer.close()
    elapsed = time.perf_counter() - started if started is not None else 0.0
    return NaiveResult(seen, elapsed, flagged)
