"""Labelled synthetic streams for developing and checking detectors on data no model has seen.

`synthetic_corpus` draws a seeded set of series in assorted units and shapes (white noise,
AR(1), random walk, daily seasonality, Poisson counts; one to eight correlated channels) and
injects anomalies of assorted kinds (spike, level shift, slow drift, variance burst, seasonal
break, flatline). Each anomaly is labelled as a window centred on its onset, a tenth of the
series split between its anomalies (as the NAB benchmark labels its windows), so a detector is
rewarded for catching an onset early and not for flagging the aftermath forever.

`rig` draws one multivariate test rig (a pump: load, current, pressure, flow, temperatures,
vibration, all driven by one slowly varying load) whose faults last hundreds of readings and
are labelled point by point, most of them breaking the relation between channels rather than any
channel's range: the case a model of normal behaviour trained on the leading normal part is for.

``edgewatch datasets synth --out DIR`` writes them as CSV files (``timestamp``, the channels,
``label``) that ``replay csv`` and ``evaluate --dataset csv`` read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "ANOMALY_KINDS",
    "BASE_KINDS",
    "RIG_FAULTS",
    "SyntheticSeries",
    "rig",
    "synthetic_corpus",
]

BASE_KINDS = ("noise", "ar1", "random_walk", "seasonal", "counts")
ANOMALY_KINDS = ("spike", "level_shift", "drift", "variance", "seasonal_break", "flatline")
_START_MS = 1_600_000_000_000


@dataclass(frozen=True, slots=True)
class SyntheticSeries:
    name: str
    frame: pd.DataFrame  # timestamp (ISO 8601), the channels, label (0/1)
    onsets: tuple[int, ...]  # row of each anomaly's onset
    kinds: tuple[str, ...]  # kind of each anomaly


def _base(kind: str, n: int, rng: np.random.Generator, period: int) -> np.ndarray:
    """A normal series of unit-ish spread."""
    e = rng.normal(0.0, 1.0, n)
    if kind == "noise":
        return e
    if kind == "ar1":
        out = np.empty(n)
        out[0] = e[0]
        for i in range(1, n):
            out[i] = 0.9 * out[i - 1] + 0.45 * e[i]
        return out
    if kind == "random_walk":
        return np.cumsum(0.15 * e) + 0.5 * rng.normal(0.0, 1.0, n)
    if kind == "seasonal":
        return 3.0 * np.sin(2 * np.pi * np.arange(n) / period) + 0.5 * e
    return rng.poisson(6.0, n).astype(np.float64) / 2.0  # counts


def _inject(x: np.ndarray, kind: str, at: int, length: int, rng: np.random.Generator) -> None:
    """Add an anomaly of ``kind`` at row ``at`` lasting ``length`` rows, in place."""
    sd = float(np.std(np.diff(x[: max(at, 3)]))) or 1.0
    spread = float(np.std(x[: max(at, 3)])) or 1.0
    sign = rng.choice((-1.0, 1.0))
    end = min(at + length, len(x))
    if kind == "spike":
        x[at] += sign * rng.uniform(8.0, 15.0) * max(sd, spread / 3)
    elif kind == "level_shift":
        x[at:] += sign * rng.uniform(3.0, 6.0) * spread
    elif kind == "drift":
        ramp = np.linspace(0.0, sign * rng.uniform(4.0, 8.0) * spread, end - at)
        x[at:end] += ramp
        x[end:] += ramp[-1]
    elif kind == "variance":
        center = x[at:end].mean()
        x[at:end] = center + (x[at:end] - center) * rng.uniform(3.0, 5.0)
    elif kind == "seasonal_break":
        x[at:end] = np.roll(x[at:end], length // 3) + sign * 0.5 * spread
    else:  # flatline
        x[at:end] = x[at]


def _series(index: int, rng: np.random.Generator) -> SyntheticSeries:
    n = int(rng.integers(3_000, 8_000))
    base = BASE_KINDS[index % len(BASE_KINDS)]
    channels = 1 if index % 3 else int(rng.integers(2, 9))
    period = int(rng.choice((96, 144, 288)))
    latent = _base(base, n, rng, period)
    data = {}
    for c in range(channels):
        own = latent * rng.uniform(0.5, 1.5) + 0.3 * rng.normal(0.0, 1.0, n)
        unit = 10.0 ** rng.uniform(-2.0, 4.0)  # sensors in assorted units
        data[f"ch{c}" if channels > 1 else "value"] = own * unit + rng.uniform(-5, 5) * unit * 10
    count = int(rng.integers(1, 4))
    onsets = sorted(int(a) for a in rng.choice(np.arange(int(0.3 * n), n - 200, 150), count, False))
    kinds = tuple(str(rng.choice(ANOMALY_KINDS)) for _ in onsets)
    names = list(data)
    for at, kind in zip(onsets, kinds, strict=True):
        hit = names if channels == 1 or rng.random() < 0.3 else [str(rng.choice(names))]
        for name in hit:
            _inject(data[name], kind, at, int(rng.integers(30, 150)), rng)
    label = np.zeros(n, dtype=np.int64)
    half = max(int(0.1 * n / count) // 2, 1)
    for at in onsets:
        label[max(at - half, 0) : at + half] = 1
    step_s = int(rng.choice((1, 10, 60, 300)))
    ts = pd.to_datetime(_START_MS + np.arange(n) * step_s * 1000, unit="ms")
    frame = pd.DataFrame({"timestamp": ts.strftime("%Y-%m-%d %H:%M:%S"), **data, "label": label})
    return SyntheticSeries(f"{index:02d}-{base}-{'-'.join(kinds)}", frame, tuple(onsets), kinds)


def synthetic_corpus(files: int = 20, seed: int = 7) -> Iterator[SyntheticSeries]:
    """``files`` labelled series, the same for the same seed."""
    rng = np.random.default_rng(seed)
    for i in range(files):
        yield _series(i, rng)


RIG_FAULTS = ("valve_closure", "sensor_drift", "vibration", "cavitation", "overload")


def rig(seed: int = 0, n: int = 5_000, normal_share: float = 0.4) -> SyntheticSeries:
    """A labelled 8-channel pump rig; its first ``normal_share`` has no fault."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    load = 0.6 + 0.25 * np.sin(2 * np.pi * t / 700) + np.cumsum(rng.normal(0, 0.004, n))
    load = np.clip(load, 0.1, 1.2)

    def noise(sd: float) -> np.ndarray:
        return rng.normal(0.0, sd, n)

    ch = {
        "current": 12.0 * load + noise(0.25),
        "pressure": 3.0 + 2.5 * load + noise(0.06),
        "flow": 40.0 * load + noise(0.8),
        "temp_motor": 40.0 + 25.0 * pd.Series(load).ewm(alpha=0.01).mean().to_numpy() + noise(0.3),
        "temp_fluid": 20.0 + 8.0 * load + noise(0.2),
        "vibration": 0.4 + 0.3 * load + np.abs(noise(0.05)),
        "rpm": 1_450.0 + 100.0 * load + noise(4.0),
        "voltage": 400.0 + noise(1.5),
    }
    label = np.zeros(n, dtype=np.int64)
    onsets: list[int] = []
    kinds: list[str] = []
    at = int(normal_share * n) + int(rng.integers(50, 200))
    while at < n - 300:
        kind = str(rng.choice(RIG_FAULTS))
        length = int(rng.integers(150, 400))
        end = min(at + length, n)
        ramp = np.linspace(0.0, 1.0, end - at)
        if kind == "valve_closure":  # pressure up, flow down: each still in its range
            ch["pressure"][at:end] += 0.9 * np.minimum(3 * ramp, 1.0)
            ch["flow"][at:end] -= 9.0 * np.minimum(3 * ramp, 1.0)
        elif kind == "sensor_drift":
            ch["temp_fluid"][at:end] += 4.0 * ramp
        elif kind == "vibration":
            ch["vibration"][at:end] += np.abs(rng.normal(0.0, 0.25, end - at))
        elif kind == "cavitation":
            ch["flow"][at:end] += rng.normal(0.0, 4.0, end - at)
            ch["pressure"][at:end] += rng.normal(0.0, 0.3, end - at)
        else:  # overload: current and motor temperature rise at the same flow
            ch["current"][at:end] += 3.0 * np.minimum(2 * ramp, 1.0)
            ch["temp_motor"][at:end] += 6.0 * ramp
        label[at:end] = 1
        onsets.append(at)
        kinds.append(kind)
        at = end + int(rng.integers(200, 600))
    ts = pd.to_datetime(_START_MS + t * 1_000, unit="ms")
    frame = pd.DataFrame({"timestamp": ts.strftime("%Y-%m-%d %H:%M:%S"), **ch, "label": label})
    return SyntheticSeries(f"rig-{seed:02d}", frame, tuple(onsets), tuple(kinds))
