"""What `edgewatch report` reads: the detections of a run and, optionally, its input records.

Each comes from a JSON-lines file or a Kafka topic. A file holds one object per line, either the
message itself (a detection as the detections topic carries it, a record as
`edgewatch replay --dry-run` writes it) or a ``kcat -J`` envelope (``{"ts": ..., "payload": ...}``),
whose timestamp then counts like a Kafka one. End-to-end latency needs the producer timestamps
of both: detection message time minus input message time, joined on (asset, seq).
"""

from __future__ import annotations

import fnmatch
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from edgewatch.errors import ConfigError, RecordError
from edgewatch.records import decode_record

__all__ = ["AssetRun", "RunData", "load_run"]

_DETECTION_FIELDS = ("asset", "ts", "seq", "score", "threshold", "decision")


@dataclass
class AssetRun:
    """One asset's detections (sorted by event time) and, when given, its input signals."""

    ts: np.ndarray  # int64 event time (ms) of each detection
    seq: np.ndarray
    score: np.ndarray
    threshold: np.ndarray
    decision: np.ndarray  # bool
    label: np.ndarray  # int8: 1, 0, or -1 when unlabelled
    signal_ts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    signals: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class RunData:
    assets: dict[str, AssetRun]
    model: str
    latencies_ms: np.ndarray  # one per detection joined to its input message; may be empty
    sources: set[str]

    @property
    def detections(self) -> int:
        return sum(len(a.ts) for a in self.assets.values())


def _lines(path: Path) -> Iterator[tuple[int | None, bytes]]:
    """(envelope timestamp or None, message bytes) per non-empty line."""
    with path.open("rb") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise ConfigError(f"{path}:{number} is not JSON ({exc})") from exc
            if isinstance(obj, dict) and "payload" in obj and "ts" in obj:  # kcat -J
                payload = obj["payload"]
                yield int(obj["ts"]), payload.encode() if isinstance(payload, str) else b""
            else:
                yield None, line


def _messages(where: str, bootstrap: str | None) -> Iterator[tuple[int | None, bytes]]:
    path = Path(where)
    if path.is_file():
        yield from _lines(path)
        return
    if bootstrap is None:
        raise ConfigError(
            f"{where!r} is not a file; to read a topic of that name pass --bootstrap-servers"
        )
    from edgewatch.pipeline.kafka.kafka_python import read_topic

    messages = read_topic(bootstrap, where)
    if not messages:
        raise ConfigError(f"topic {where!r} on {bootstrap} is empty or does not exist")
    for message in messages:
        yield message.timestamp, message.value or b""


def _detection(raw: bytes, where: str) -> dict[str, Any]:
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ConfigError(f"{where}: a message is not JSON ({exc})") from exc
    missing = [name for name in _DETECTION_FIELDS if not isinstance(obj, dict) or name not in obj]
    if missing and not (isinstance(obj, dict) and "event_id" in obj and "kind" in obj):
        raise ConfigError(
            f"{where}: a message lacks {', '.join(missing)}; is it a detections topic or file? "
            "(records go to --records)"
        )
    return dict(obj)


def load_run(
    run: str,
    records: str | None = None,
    bootstrap: str | None = None,
    assets: Sequence[str] = (),
) -> RunData:
    """Detections of ``run`` grouped per asset (only those matching a glob in ``assets``, if
    any), signals from ``records``, and latencies where both timestamps are known."""
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    sent: dict[tuple[str, int], int] = {}
    models: set[str] = set()
    sources: set[str] = set()
    for stamp, raw in _messages(run, bootstrap):
        d = _detection(raw, run)
        if "event_id" in d and "kind" in d:  # an incident event (run --out files hold both)
            continue
        if assets and not any(fnmatch.fnmatchcase(d["asset"], p) for p in assets):
            continue
        rows[d["asset"]].append(d)
        models.add(f"{d.get('model', '?')} {d.get('model_version', '')}".strip())
        sources.add(str(d.get("source") or ""))
        if stamp is not None:
            sent[(d["asset"], d["seq"])] = stamp
    if not rows:
        which = f" of assets {', '.join(assets)}" if assets else ""
        raise ConfigError(f"{run!r} holds no detections{which}")
    runs = {asset: _asset_run(items) for asset, items in sorted(rows.items())}
    latencies: list[int] = []
    if records is not None:
        latencies = _add_signals(runs, _messages(records, bootstrap), sent, records)
    return RunData(runs, ", ".join(sorted(models)), np.asarray(latencies, np.float64), sources)


def _asset_run(items: list[dict[str, Any]]) -> AssetRun:
    items.sort(key=lambda d: (d["ts"], d["seq"]))
    labels = [d.get("label") for d in items]
    return AssetRun(
        ts=np.array([d["ts"] for d in items], np.int64),
        seq=np.array([d["seq"] for d in items], np.int64),
        score=np.array([d["score"] for d in items], np.float64),
        threshold=np.array([d["threshold"] for d in items], np.float64),
        decision=np.array([bool(d["decision"]) for d in items]),
        label=np.array([-1 if v is None else int(v) for v in labels], np.int8),
    )


def _add_signals(
    assets: dict[str, AssetRun],
    messages: Iterable[tuple[int | None, bytes]],
    sent: dict[tuple[str, int], int],
    where: str,
) -> list[int]:
    """Attach each asset's input values; return detection-minus-input latencies (ms)."""
    ts: dict[str, list[int]] = defaultdict(list)
    values: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    latencies = []
    skipped = 0
    for stamp, raw in messages:
        try:
            record = decode_record(raw)
        except RecordError:
            skipped += 1  # the pipeline sent these to the DLQ: nothing to plot
            continue
        if record.asset not in assets:
            continue
        ts[record.asset].append(record.ts)
        for name, value in record.values.items():
            values[record.asset][name].append(value)
        out = sent.get((record.asset, record.seq))
        if stamp is not None and out is not None:
            latencies.append(out - stamp)
    if not ts:
        raise ConfigError(f"{where!r} holds no records of the run's assets ({skipped} invalid)")
    for asset, times in ts.items():
        order = np.argsort(np.asarray(times), kind="stable")
        run = assets[asset]
        run.signal_ts = np.asarray(times, np.int64)[order]
        run.signals = {
            name: np.asarray(column, np.float64)[order]
            for name, column in values[asset].items()
            if len(column) == len(times)
        }
    return latencies
