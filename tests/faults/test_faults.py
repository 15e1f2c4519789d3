"""The fault suite: what the pipeline must survive, on the embedded broker and on Apache Kafka
(``EDGEWATCH_TEST_BROKERS``). Each scenario records its figures; a run that covers all three on
a broker writes that broker's row of the table in the README's reliability section.

- kills: two `edgewatch run` processes under load, SIGKILLed ten times between them and
  restarted, while the webhook receiver is down for two minutes: no window lost, every incident
  event delivered once.
- hostile: 10,000 malformed messages of many kinds among 20,000 valid ones: no crash, each in the
  DLQ once with its reason, every valid record's window out.
- forged snapshots: a changelog holding forged snapshots of every kind: each skipped and counted,
  the genuine ones restored, the member goes on.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from edgewatch.pipeline.alerts.receiver import Receiver
from edgewatch.pipeline.app import ensure_member_topics, open_member
from edgewatch.pipeline.kafka.broker import EmbeddedBroker
from edgewatch.pipeline.kafka.kafka_python import KafkaSink, read_topic
from edgewatch.pipeline.state import Snapshot
from edgewatch.producers.replay import replay
from edgewatch.producers.simulated import FleetSpec, simulate_fleet
from edgewatch.records import REASONS, SensorRecord, encode_record
from tests.pipeline.test_cascade_kafka import _drain, _send, _settings

pytestmark = [pytest.mark.slow, pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[2]
EDGEWATCH = str(Path(sys.executable).with_name("edgewatch"))
SECRET = "fault-suite-secret-0123456789"
SEQ_LEN = 10
KILLS = 10
RECEIVER_DOWN_S = 120.0
FIGURES: dict[str, dict[str, Any]] = {}  # broker kind -> scenario -> figures


def _kind(broker: object) -> str:
    return "embedded (tansu)" if isinstance(broker, EmbeddedBroker) else "Apache Kafka 3.6"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _record(broker: object, scenario: str, figures: dict[str, Any]) -> None:
    FIGURES.setdefault(_kind(broker), {})[scenario] = figures
    if len(FIGURES[_kind(broker)]) == 3:
        _write_table()


# ---------------------------------------------------------------------------------------- kills


def _member(bootstrap: str, run: str, slot: int, port: int, tmp: Path) -> subprocess.Popen[str]:
    args = [EDGEWATCH, "run", "--members", "1", "-b", bootstrap]
    args += ["--group-id", f"g-{run}", "--emit", "all"]
    for topic in ("input", "detections", "dlq", "incidents", "changelog"):
        args += [f"--{topic}-topic", f"{topic}-{run}"]
    args += ["--commit-interval-ms", "500", "--metrics-port", "0", "--log-level", "INFO"]
    env = {
        **os.environ,
        "EDGEWATCH_WEBHOOKS__URLS": f'["http://127.0.0.1:{port}/"]',
        "EDGEWATCH_WEBHOOKS__SECRET": SECRET,
        "EDGEWATCH_WEBHOOKS__OUTBOX": str(tmp / f"outbox-{slot}.sqlite"),
        "EDGEWATCH_WEBHOOKS__MAX_BACKOFF_MS": "3000",
    }
    log = (tmp / f"member-{slot}.log").open("a")
    return subprocess.Popen(args, stderr=log, stdout=subprocess.DEVNULL, text=True, env=env)


def test_kills_under_load_with_the_receiver_down(broker: EmbeddedBroker, tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:8]
    bootstrap = broker.bootstrap_servers
    settings = _settings(bootstrap, partitions=4)
    k = settings.kafka.model_copy(
        update={f"{t}_topic": f"{t}-{run}" for t in ("input", "detections", "dlq", "incidents")}
        | {"changelog_topic": f"changelog-{run}"}
    )
    ensure_member_topics(bootstrap, k)
    records = list(simulate_fleet(FleetSpec(assets=8, points=12_000)).records())
    port, alerts = _free_port(), tmp_path / "alerts.jsonl"
    receiver = Receiver(SECRET.encode(), port=port, out=alerts).__enter__()
    members = [_member(bootstrap, run, slot, port, tmp_path) for slot in (0, 1)]
    producer = threading.Thread(target=_produce, args=(bootstrap, k.input_topic, records))
    started = time.monotonic()
    producer.start()
    try:
        time.sleep(3)
        receiver.__exit__(None, None, None)  # down: the members queue their events
        down_at = time.monotonic()
        for kill in range(KILLS):
            time.sleep(random.Random(kill).uniform(2.0, 4.0))
            slot = kill % 2
            members[slot].send_signal(signal.SIGKILL)
            members[slot].wait(timeout=30)
            members[slot] = _member(bootstrap, run, slot, port, tmp_path)
        producer.join()
        time.sleep(max(0.0, RECEIVER_DOWN_S - (time.monotonic() - down_at)))
        receiver = Receiver(SECRET.encode(), port=port, out=alerts).__enter__()
        expected = {(r.asset, r.seq) for r in records if r.seq >= SEQ_LEN - 1}
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            time.sleep(5)
            got = _keys(read_topic(bootstrap, k.detections_topic, timeout_s=60))
            events = _event_ids(read_topic(bootstrap, k.incidents_topic, timeout_s=60))
            if expected <= set(got) and events <= set(_stored(alerts)):
                break
    finally:
        for member in members:
            member.send_signal(signal.SIGTERM)
        codes = [member.wait(timeout=60) for member in members]
        receiver.__exit__(None, None, None)
    logs = "".join(p.read_text() for p in tmp_path.glob("member-*.log"))
    stored = _stored(alerts)
    missing = expected - set(got)
    late = {e["incident_id"] for e in _events(alerts) if not _in_order(alerts, e["incident_id"])}
    figures = {
        "records": len(records),
        "kills": KILLS,
        "windows": len(expected),
        "lost": len(missing),
        "duplicated": sum(n - 1 for n in got.values()),
        "events": len(events),
        "events_undelivered": len(events - set(stored)),
        "events_stored_twice": sum(1 for n in Counter(stored).values() if n > 1),
        "incidents_out_of_order": len(late),
        "receiver_down_s": RECEIVER_DOWN_S,
        "seconds": round(time.monotonic() - started),
    }
    _record(broker, "kills", figures)
    assert codes == [0, 0], logs[-3_000:]
    assert "Traceback" not in logs
    assert not missing, (figures, sorted(missing)[:10])
    assert figures["events_undelivered"] == 0, figures
    assert figures["events_stored_twice"] == 0, figures


def _produce(bootstrap: str, topic: str, records: list[SensorRecord]) -> None:
    sink = KafkaSink(bootstrap)
    try:
        replay(records, sink, topic, rate=3_000)
    finally:
        sink.close()


def _keys(messages: list[Any]) -> Counter[tuple[str, int]]:
    return Counter((d["asset"], d["seq"]) for d in (orjson.loads(m.value) for m in messages))


def _event_ids(messages: list[Any]) -> set[str]:
    return {orjson.loads(m.value)["event_id"] for m in messages}


def _events(path: Path) -> list[dict[str, Any]]:
    """The whole lines stored so far: the receiver may be mid-write of the last one."""
    if not path.is_file():
        return []
    whole = path.read_bytes().rpartition(b"\n")[0]
    return [orjson.loads(line) for line in whole.splitlines() if line.strip()]


def _stored(path: Path) -> list[str]:
    return [str(e["event_id"]) for e in _events(path)]


_ORDER = {"opened": 0, "updated": 1, "resolved": 2}


def _in_order(path: Path, incident: str) -> bool:
    """The incident's events arrived opened, updated..., resolved, and updates by progress."""
    seen = [e for e in _events(path) if e["incident_id"] == incident]
    ranks = [(_ORDER[e["kind"]], e["windows"]) for e in seen]
    return ranks == sorted(ranks)


# -------------------------------------------------------------------------------------- hostile


def _hostile(good: dict[str, Any], rng: random.Random) -> list[tuple[bytes | None, bytes, str]]:
    """Malformed messages of many kinds, each with the DLQ reason it must get."""
    key = str(good["asset"]).encode()
    deep = b"[" * 5_000 + b"]" * 5_000
    return [
        (key, b"\xff\xfe" + rng.randbytes(200), "not_json"),
        (key, rng.randbytes(2_000), "not_json"),
        (key, b"", "not_json"),
        (key, deep, "not_json"),
        (key, b'"a string"', "not_object"),
        (key, b"[1, 2, 3]", "not_object"),
        (key, b"null", "not_object"),
        (key, b'{"pad": "' + b"a" * 70_000 + b'"}', "too_large"),
        (key, orjson.dumps({k: v for k, v in good.items() if k != "ts"}), "missing_field"),
        (key, orjson.dumps({**good, "extra": {"nested": [1, 2]}}), "unknown_field"),
        (key, orjson.dumps({**good, "asset": 17}), "wrong_type"),
        (key, orjson.dumps({**good, "seq": True}), "wrong_type"),
        (key, orjson.dumps({**good, "values": [1.0, 2.0]}), "wrong_type"),
        (key, orjson.dumps({**good, "values": {"value": "high"}}), "wrong_type"),
        (key, orjson.dumps({**good, "values": {"value": 1e39}}), "out_of_range"),
        (key, orjson.dumps({**good, "seq": -1}), "out_of_range"),
        (key, orjson.dumps(good).replace(b'"seq":0', b'"seq":18446744073709551616'), "wrong_type"),
        (key, orjson.dumps({**good, "ts": -5}), "out_of_range"),
        (key, orjson.dumps({**good, "ts": 2**60}), "out_of_range"),
        (key, orjson.dumps({**good, "label": 2}), "wrong_type"),
        (key, orjson.dumps({**good, "v": 99}), "bad_version"),
        (key, orjson.dumps({**good, "values": {f"c{i}": 1.0 for i in range(300)}}), "out_of_range"),
        (key, orjson.dumps({**good, "source": "x" * 500}), "bad_name"),
        (key, orjson.dumps({**good, "values": {"": 1.0}}), "bad_name"),
        (None, orjson.dumps(good), "bad_key"),
        (b"someone-else", orjson.dumps(good), "bad_key"),
    ]


def test_hostile_messages_among_valid_ones(broker: EmbeddedBroker) -> None:
    rng = random.Random(11)
    valid = list(simulate_fleet(FleetSpec(assets=4, points=5_000)).records())
    good = orjson.loads(encode_record(valid[0]))
    kinds = _hostile(good, rng)
    bad = [kinds[i % len(kinds)] for i in range(10_000)]
    stream: list[tuple[bytes | None, bytes, str | None]] = [
        (r.asset.encode(), encode_record(r), None) for r in valid
    ]
    for item in bad:
        stream.insert(rng.randrange(0, len(stream) + 1), item)
    settings = _settings(broker.bootstrap_servers, partitions=2)
    k = settings.kafka
    ensure_member_topics(broker.bootstrap_servers, k)
    _send(broker.bootstrap_servers, k.input_topic, [(key, value) for key, value, _ in stream])  # type: ignore[misc]
    started = time.monotonic()
    with open_member(settings, broker.bootstrap_servers) as member:
        _drain(member, len(stream), timeout_s=300)
    dlq = [orjson.loads(m.value or b"") for m in read_topic(broker.bootstrap_servers, k.dlq_topic)]
    out = _keys(read_topic(broker.bootstrap_servers, k.detections_topic))
    expected = {(r.asset, r.seq) for r in valid if r.seq >= SEQ_LEN - 1}
    figures = {
        "valid": len(valid),
        "hostile": len(bad),
        "kinds": len(kinds),
        "dead_letters": len(dlq),
        "reasons_match": Counter(d["reason"] for d in dlq) == Counter(r for _, _, r in bad),
        "valid_windows_lost": len(expected - set(out)),
        "crashes": 0,
        "seconds": round(time.monotonic() - started),
    }
    _record(broker, "hostile", figures)
    assert {d["reason"] for d in dlq} <= {*REASONS, "bad_key", "repeated_seq", "out_of_order"}
    assert figures["reasons_match"], Counter(d["reason"] for d in dlq)
    assert member.invalid == len(bad)
    assert figures["valid_windows_lost"] == 0


# ---------------------------------------------------------------------------- forged snapshots


def _forgeries(genuine: dict[str, Any]) -> list[bytes]:
    """Snapshots that must not be restored, each for its own asset."""
    state = genuine["state"]

    def forged(i: int, **changes: Any) -> dict[str, Any]:
        return {**genuine, "asset": f"forged-{i}", **changes}

    def with_state(i: int, path: tuple[str, ...], value: Any) -> bytes:
        copy = orjson.loads(orjson.dumps(state))
        target = copy
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
        return json.dumps(forged(i, state=copy)).encode()  # json: integers past 64 bits too

    windows = ("detector", "state", "windows")
    return [
        b"\x80\x04\x95pickle",
        b"not json at all",
        orjson.dumps(forged(2, v=7)),
        orjson.dumps({k: v for k, v in forged(3).items() if k != "state"}),
        orjson.dumps(forged(4, state=[1, 2])),
        with_state(5, (*windows, "count"), 2**64),
        with_state(6, (*windows, "count"), -1),
        with_state(7, (*windows, "tail"), [[1e308, "x"]]),
        with_state(8, ("detector", "route"), "python:os.system"),
        with_state(9, ("detector", "state"), "x" * 10_000),
        with_state(10, ("incidents", "recent"), [1, 2, 3]),
        with_state(11, ("sequence",), {"seq": "a lot"}),
        with_state(12, (*windows, "tail"), [[0.0]] * 100_001),
        with_state(13, (*windows, "last"), [True]),
    ]


def test_forged_snapshots_are_skipped_and_counted(broker: EmbeddedBroker) -> None:
    bootstrap = broker.bootstrap_servers
    run = uuid.uuid4().hex[:8]
    settings = _settings(bootstrap, partitions=1)
    k = settings.kafka.model_copy(update={"changelog_topic": f"changelog-{run}"})
    settings = settings.model_copy(update={"kafka": k})
    ensure_member_topics(bootstrap, k)
    records = list(simulate_fleet(FleetSpec(assets=2, points=3_000)).records(limit=1_000))
    _send(bootstrap, k.input_topic, [(r.asset.encode(), encode_record(r)) for r in records])
    with open_member(settings, bootstrap) as first:
        _drain(first, len(records))
    genuine = orjson.loads(read_topic(bootstrap, k.changelog_topic)[-1].value or b"")
    Snapshot.decode(orjson.dumps(genuine))  # the template is a valid snapshot
    forgeries = _forgeries(genuine)
    _send(bootstrap, k.changelog_topic, [(b"forged", value) for value in forgeries])
    later = list(simulate_fleet(FleetSpec(assets=2, points=3_000)).records())[1_000:1_400]
    _send(bootstrap, k.input_topic, [(r.asset.encode(), encode_record(r)) for r in later])
    with open_member(settings, bootstrap) as second:
        _drain(second, len(later))
    skipped = second.metrics.snapshots_skipped.labels("invalid")._value.get()
    restored = second.metrics.restored._value.get()
    figures = {"forged": len(forgeries), "skipped_invalid": int(skipped), "restored": int(restored)}
    _record(broker, "forged", figures)
    assert skipped == len(forgeries)
    assert restored == 2  # the two genuine assets, not one forged one
    assert second.warmup == 0  # they went on where they were


# ------------------------------------------------------------------------------------ the table

BEGIN, END = "<!-- fault-suite:begin -->", "<!-- fault-suite:end -->"
HEADER = (
    "| broker | SIGKILLs under load | windows lost / duplicated | incident events (receiver "
    "down {down:.0f} s) delivered / twice / incidents out of order | hostile messages (kinds) "
    "in DLQ with reason / valid windows lost | forged snapshots skipped and counted |\n"
    "|---|---|---|---|---|---|\n"
)


def _write_table() -> None:
    readme = ROOT / "README.md"
    text = readme.read_text()
    if BEGIN not in text:
        return
    rows = dict(re.findall(r"^\| (embedded \(tansu\)|Apache Kafka 3\.6) (\|.*)$", text, re.M))
    for broker, f in FIGURES.items():
        kills, hostile, forged = f["kills"], f["hostile"], f["forged"]
        rows[broker] = (
            f"| {kills['kills']} (2 members), {kills['records']:,} records | "
            f"{kills['lost']} of {kills['windows']:,} / {kills['duplicated']:,} | "
            f"{kills['events'] - kills['events_undelivered']:,} of {kills['events']:,} / "
            f"{kills['events_stored_twice']} / {kills['incidents_out_of_order']} | "
            f"{hostile['dead_letters']:,} of {hostile['hostile']:,} ({hostile['kinds']}) / "
            f"{hostile['valid_windows_lost']} | {forged['skipped_invalid']} of {forged['forged']} |"
        )
    body = HEADER.format(down=RECEIVER_DOWN_S) + "".join(
        f"| {broker} {row}\n" for broker, row in sorted(rows.items())
    )
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    readme.write_text(text[:start] + "\n" + body + text[end:])
