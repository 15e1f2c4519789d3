"""The Quix Streams peer of `edgewatch bench` (row (i)): comparable streaming work per record.

Reads the bench's SensorRecords (JSON) from a topic with a fresh consumer group, keeps each
asset's exponentially weighted mean and variance of every channel in Quix's state store (RocksDB,
with its changelog topic), flags a record whose largest |z| exceeds ``Z``, and produces the flagged
ones as JSON to an output topic; at-least-once, Quix's defaults otherwise. It stops after
``--records`` records and prints one JSON line: records, seconds from the first record to the
last, records/s and CPU seconds.

It runs in its own virtualenv (`make bench` makes `.venv-peers`): Quix Streams pins its own
confluent-kafka, which must not change the client the member is measured with.

    python quix_peer.py --broker HOST:PORT --topic T --output T.quix --records 100000
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import sys
import time
import uuid
from typing import Any

from quixstreams import Application, State

ALPHA = 0.01  # the EW weight of each new reading
Z = 1.4  # produces ~12% of the simulated fleet's records: about as many as the member sends


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="quix_peer")
    parser.add_argument("--broker", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--records", type=int, required=True)
    parser.add_argument("--state-dir", default=None)
    args = parser.parse_args(argv)
    group = f"quix-peer-{uuid.uuid4().hex[:8]}"
    app = Application(
        broker_address=args.broker,
        consumer_group=group,
        auto_offset_reset="earliest",
        processing_guarantee="at-least-once",
        state_dir=args.state_dir or f"/tmp/{group}",
        loglevel="WARNING",
    )
    source = app.topic(args.topic, value_deserializer="json")
    sink = app.topic(args.output, value_serializer="json")
    seen = {"n": 0, "flagged": 0, "first": 0.0, "last": 0.0, "cpu": 0.0}

    def score(value: dict[str, Any], state: State) -> dict[str, Any]:
        worst = 0.0
        for channel, x in value["values"].items():
            mean, var = state.get(channel, (float(x), 0.0))
            delta = x - mean
            mean += ALPHA * delta
            var = (1 - ALPHA) * (var + ALPHA * delta * delta)
            state.set(channel, (mean, var))
            if var > 0:
                worst = max(worst, abs(delta) / math.sqrt(var))
        value["z"] = worst
        return value

    def count(value: dict[str, Any]) -> None:
        if not seen["n"]:
            seen["first"], seen["cpu"] = time.perf_counter(), _cpu_s()
        seen["n"] += 1
        seen["last"] = time.perf_counter()
        if seen["n"] >= args.records:
            app.stop()

    sdf = app.dataframe(source)
    sdf = sdf.apply(score, stateful=True)
    sdf = sdf.update(count)
    sdf = sdf.filter(lambda v: v["z"] > Z)
    sdf = sdf.update(lambda _: seen.__setitem__("flagged", seen["flagged"] + 1))
    sdf.to_topic(sink)
    app.run()
    spent = max(seen["last"] - seen["first"], 1e-9)
    report = {
        "records": seen["n"],
        "flagged": seen["flagged"],
        "seconds": spent,
        "rate": seen["n"] / spent,
        "cpu_s": _cpu_s() - seen["cpu"],
    }
    print(json.dumps(report), flush=True)
    return 0 if seen["n"] >= args.records else 1


if __name__ == "__main__":
    sys.exit(main())
