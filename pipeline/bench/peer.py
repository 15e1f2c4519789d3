"""Bench (i): the member beside a Quix Streams app doing comparable work
(`benchmarks/peers/quix_peer.py`), on the same broker and pre-filled topic, in interleaved
rounds, one process each, each round with fresh consumer groups.

The peer runs with the Python of its own virtualenv (``--quix``; `make bench` makes
`.venv-peers`). Quix Streams needs a full Kafka (DescribeConfigs), so this runs on Apache Kafka,
not the embedded broker.
"""

from __future__ import annotations

import statistics
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from edgewatch.errors import BrokerError
from edgewatch.pipeline.kafka.kafka_python import ensure_topics

__all__ = ["PEER_SCRIPT", "PeerRounds", "quix_rate"]

#: In a checkout: <repo>/benchmarks/peers/quix_peer.py (this file is <repo>/pipeline/bench/).
PEER_SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "peers" / "quix_peer.py"


@dataclass
class PeerRounds:
    """Records/s per round: the member's (b) and the peer's, measured one after the other."""

    member: list[float] = field(default_factory=list)
    peer: list[float] = field(default_factory=list)
    peer_cpu_per_record_us: list[float] = field(default_factory=list)
    flagged: float = 0.0  # the peer's share of records produced
    member_cpu_per_record_us: list[float] = field(default_factory=list)

    @property
    def ratios(self) -> list[float]:
        return [m / p for m, p in zip(self.member, self.peer, strict=True)]

    @property
    def ratio(self) -> float:
        """The median of the in-round ratios."""
        return statistics.median(self.ratios)


def quix_rate(
    python: Path, bootstrap: str, topic: str, records: int, timeout_s: float = 600.0
) -> dict[str, float]:
    """One run of the peer over ``records`` records of ``topic``: its JSON report."""
    if not PEER_SCRIPT.is_file():
        raise BrokerError(
            f"the Quix Streams peer app is not here ({PEER_SCRIPT}): run from a clone"
        )
    args = [str(python), str(PEER_SCRIPT), "--broker", bootstrap, "--topic", topic]
    args += ["--output", f"{topic}.quix", "--records", str(records)]
    try:
        done = subprocess.run(args, capture_output=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        raise BrokerError(f"the Quix Streams peer did not finish in {timeout_s:.0f} s") from exc
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace")[-1_500:]
        raise BrokerError(f"the Quix Streams peer failed (exit {done.returncode}): {tail}")
    report = orjson.loads(done.stdout.splitlines()[-1])
    return {k: float(v) for k, v in report.items()}


def peer_rounds(
    member_rate: Callable[[int], tuple[float, float]],
    python: Path,
    bootstrap: str,
    topic: str,
    records: int,
    rounds: int,
    say: Callable[[str], None],
    partitions: int = 6,
) -> PeerRounds:
    """``rounds`` x (the member via ``member_rate(round)``: records/s and CPU µs per record,
    then the peer), on ``topic``."""
    ensure_topics(bootstrap, {f"{topic}.quix": partitions})
    out = PeerRounds()
    for i in range(rounds):
        say(f"(i) round {i + 1} of {rounds}: the member, then Quix Streams")
        rate, cpu_us = member_rate(i)
        out.member.append(rate)
        out.member_cpu_per_record_us.append(cpu_us)
        peer = quix_rate(python, bootstrap, topic, records)
        out.peer.append(peer["rate"])
        out.peer_cpu_per_record_us.append(peer["cpu_s"] / peer["records"] * 1e6)
        out.flagged = peer["flagged"] / peer["records"]
    return out
