"""Inline SVG plots for `edgewatch report`: no plotting library, no network, one HTML file."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape

import numpy as np

from edgewatch.pipeline.report.data import AssetRun

__all__ = ["asset_plot", "latency_plot"]

W, LEFT, RIGHT = 960, 56, 12
SIGNAL_TOP, SIGNAL_BOTTOM, SCORE_TOP, SCORE_BOTTOM, H = 24, 150, 170, 280, 304
COLOURS = ("#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#17becf", "#7f7f7f")


def _bucket_bounds(n: int, points: int) -> np.ndarray:
    """Start index of each of at most ``points`` consecutive buckets over ``n`` items."""
    return np.unique(np.linspace(0, n, min(n, points), endpoint=False).astype(np.int64))


def _x(ts: np.ndarray, lo: int, hi: int) -> np.ndarray:
    span = max(hi - lo, 1)
    return np.asarray(LEFT + (ts - lo) / span * (W - LEFT - RIGHT), np.float64)


def _y(v: np.ndarray, lo: float, hi: float, top: float, bottom: float) -> np.ndarray:
    span = hi - lo if hi > lo else 1.0
    return np.asarray(bottom - (np.clip(v, lo, hi) - lo) / span * (bottom - top), np.float64)


def _polyline(x: np.ndarray, y: np.ndarray, colour: str, extra: str = "") -> str:
    points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(x, y, strict=True))
    return f'<polyline fill="none" stroke="{colour}" stroke-width="1" {extra} points="{points}"/>'


def _time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) index of each run of True."""
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1, strict=True))


def asset_plot(asset: str, run: AssetRun, points: int = 1_500, channels: int = 4) -> str:
    """Signals (z-scored), the score against its threshold, detections and labelled anomalies."""
    lo = int(min(run.ts[0], run.signal_ts[0] if len(run.signal_ts) else run.ts[0]))
    hi = int(max(run.ts[-1], run.signal_ts[-1] if len(run.signal_ts) else run.ts[-1]))
    parts = [
        f'<svg class="plot" data-asset="{escape(asset)}" viewBox="0 0 {W} {H}" '
        f'width="{W}" height="{H}" role="img" aria-label="{escape(asset)}">',
        f'<rect x="{LEFT}" y="{SIGNAL_TOP}" width="{W - LEFT - RIGHT}" '
        f'height="{SCORE_BOTTOM - SIGNAL_TOP}" fill="#fafafa"/>',
    ]
    for first, last in _runs(run.label == 1):
        x0, x1 = _x(run.ts[[first, last]], lo, hi)
        parts.append(
            f'<rect class="label" x="{x0:.1f}" y="{SIGNAL_TOP}" width="{max(x1 - x0, 1.0):.1f}" '
            f'height="{SCORE_BOTTOM - SIGNAL_TOP}" fill="#f4c7c3" opacity="0.6"/>'
        )
    names = sorted(run.signals)[:channels]
    if names:
        starts = _bucket_bounds(len(run.signal_ts), points)
        counts = np.diff(np.append(starts, len(run.signal_ts)))
        x = _x(run.signal_ts[starts], lo, hi)
        for colour, name in zip(COLOURS, names, strict=False):
            v = run.signals[name]
            z = (v - v.mean()) / (v.std() or 1.0)
            mean = np.add.reduceat(z, starts) / counts
            y = _y(mean, -4.0, 4.0, SIGNAL_TOP, SIGNAL_BOTTOM)
            parts.append(_polyline(x, y, colour, f'class="signal" data-channel="{escape(name)}"'))
    else:
        parts.append(
            f'<text x="{W / 2}" y="{(SIGNAL_TOP + SIGNAL_BOTTOM) / 2}" text-anchor="middle" '
            'fill="#888">no input records given (--records)</text>'
        )
    starts = _bucket_bounds(len(run.ts), points)
    x = _x(run.ts[starts], lo, hi)
    top = float(max(1.0, run.score.max(), run.threshold.max()))
    score = np.maximum.reduceat(run.score, starts)  # keep peaks when thinning
    parts.append(
        _polyline(x, _y(score, 0.0, top, SCORE_TOP, SCORE_BOTTOM), "#d62728", 'class="score"')
    )
    threshold = _y(np.maximum.reduceat(run.threshold, starts), 0.0, top, SCORE_TOP, SCORE_BOTTOM)
    parts.append(_polyline(x, threshold, "#333", 'class="threshold" stroke-dasharray="4 3"'))
    flagged = np.logical_or.reduceat(run.decision, starts)
    for xi in x[flagged]:
        parts.append(
            f'<line class="detection" x1="{xi:.1f}" x2="{xi:.1f}" y1="{SCORE_BOTTOM}" '
            f'y2="{SCORE_BOTTOM + 6}" stroke="#d62728"/>'
        )
    parts += [
        f'<text x="{LEFT - 6}" y="{(SIGNAL_TOP + SIGNAL_BOTTOM) / 2}" text-anchor="end" '
        'class="axis">z</text>',
        f'<text x="{LEFT - 6}" y="{SCORE_TOP + 8}" text-anchor="end" class="axis">{top:g}</text>',
        f'<text x="{LEFT - 6}" y="{SCORE_BOTTOM}" text-anchor="end" class="axis">0</text>',
        f'<text x="{LEFT}" y="{H - 4}" class="axis">{_time(lo)}</text>',
        f'<text x="{W - RIGHT}" y="{H - 4}" text-anchor="end" class="axis">{_time(hi)}</text>',
        f'<text x="{LEFT}" y="14" class="title">{escape(asset)}</text>',
    ]
    legend = [("score", "#d62728"), ("threshold", "#333"), *zip(names, COLOURS, strict=False)]
    x0 = W - RIGHT
    for name, colour in reversed(legend):
        x0 -= 12 + 7 * len(name) + 14
        parts.append(
            f'<rect x="{x0}" y="6" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x0 + 14}" y="15" class="axis">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def latency_plot(latencies_ms: np.ndarray) -> str:
    """Histogram of end-to-end latency on log-spaced bins, with p50/p95/p99 marked."""
    edges = np.logspace(0, 5, 31)  # 1 ms .. 100 s
    counts, _ = np.histogram(np.clip(latencies_ms, 1, 1e5), edges)
    height, bottom, width = 200, 180, (W - LEFT - RIGHT) / len(counts)
    peak = max(int(counts.max()), 1)
    parts = [
        f'<svg class="plot latency" viewBox="0 0 {W} {height + 24}" width="{W}" '
        f'height="{height + 24}" role="img" aria-label="latency histogram">'
    ]
    for i, count in enumerate(counts):
        h = count / peak * (bottom - 20)
        parts.append(
            f'<rect class="bar" x="{LEFT + i * width:.1f}" y="{bottom - h:.1f}" '
            f'width="{width - 1:.1f}" height="{h:.1f}" fill="#1f77b4"><title>'
            f"{edges[i]:.0f}-{edges[i + 1]:.0f} ms: {count}</title></rect>"
        )
    span = np.log10(edges[-1]) - np.log10(edges[0])
    for q, y in ((50, 14), (95, 28), (99, 42)):
        value = float(np.percentile(latencies_ms, q))
        x = LEFT + np.log10(max(value, 1.0)) / span * (W - LEFT - RIGHT)
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="16" y2="{bottom}" stroke="#d62728" '
            f'stroke-dasharray="3 2"/><text x="{x + 3:.1f}" y="{y}" class="axis">'
            f"p{q} {value:,.0f} ms</text>"
        )
    for ms in (1, 10, 100, 1_000, 10_000, 100_000):
        x = LEFT + np.log10(ms) / span * (W - LEFT - RIGHT)
        label = f"{ms} ms" if ms < 1_000 else f"{ms // 1_000} s"
        parts.append(f'<text x="{x:.1f}" y="{bottom + 16}" class="axis">{label}</text>')
    parts.append("</svg>")
    return "".join(parts)
