"""`edgewatch report RUN --out report.html`: one self-contained HTML page about a run.

A summary (windows, detections, point-wise precision/recall/F1 when labelled), a table per asset,
a plot per asset (signals, score against threshold, detections, labelled anomalies shaded) and a
histogram of end-to-end latency. Inline SVG and CSS only: it opens offline and can be mailed.
"""

from __future__ import annotations

import time
from html import escape
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from edgewatch.pipeline.cli.common import console
from edgewatch.pipeline.report.data import AssetRun, RunData, load_run
from edgewatch.pipeline.report.svg import asset_plot, latency_plot

__all__ = ["render", "report_command"]

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1000px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; }
table { border-collapse: collapse; margin: 8px 0; }
td, th { padding: 3px 10px; border-bottom: 1px solid #e4e4e4; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.axis { font-size: 11px; fill: #555; } .title { font-size: 13px; font-weight: 600; }
.note { color: #666; } figure { margin: 8px 0; }
"""
#: Marks each plot the browser laid out (a width > 0), so a test can tell plots were drawn.
SCRIPT = """
window.addEventListener("load", () => {
  const plots = [...document.querySelectorAll("svg.plot")];
  plots.forEach(p => { p.dataset.rendered = String(p.getBBox().width > 0); });
  document.body.dataset.plotsRendered = plots.filter(p => p.dataset.rendered === "true").length;
});
"""


def _scores(run: AssetRun) -> dict[str, float | int]:
    labelled = run.label >= 0
    truth, guess = run.label[labelled] == 1, run.decision[labelled]
    tp = int(np.sum(truth & guess))
    fp, fn = int(np.sum(~truth & guess)), int(np.sum(truth & ~guess))
    return {
        "windows": len(run.ts),
        "flagged": int(run.decision.sum()),
        "labelled": int(labelled.sum()),
        "anomalous": int(truth.sum()),
        "tp": tp,
        "fp": fp,
        "fn": fn,
    }


def _prf(tp: int, fp: int, fn: int) -> str:
    """Precision / recall / F1, with "n/a" where a ratio is 0/0 (nothing flagged, no anomaly)."""
    p = tp / (tp + fp) if tp + fp else None
    r = tp / (tp + fn) if tp + fn else None
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None
    return " / ".join("n/a" if v is None else f"{v:.4f}" for v in (p, r, f1))


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def render(run: RunData, title: str, max_plots: int = 50) -> str:
    per_asset = {asset: _scores(a) for asset, a in run.assets.items()}
    total = {k: sum(int(s[k]) for s in per_asset.values()) for k in next(iter(per_asset.values()))}
    labelled = total["labelled"] > 0
    summary = [
        ["assets", f"{len(run.assets):,}"],
        ["windows scored", f"{total['windows']:,}"],
        ["windows flagged anomalous", f"{total['flagged']:,}"],
        ["model", run.model],
        ["sources", ", ".join(sorted(s for s in run.sources if s)) or "-"],
    ]
    if labelled:
        prf = _prf(int(total["tp"]), int(total["fp"]), int(total["fn"]))
        summary.append(["labelled windows", f"{total['labelled']:,}"])
        summary.append(["precision / recall / F1 (point-wise)", prf])
    header = ["asset", "windows", "flagged", "labelled anomalous", "precision / recall / F1"]
    rows = []
    for asset, s in per_asset.items():
        known = bool(s["labelled"])
        rows.append(
            [
                asset,
                f"{s['windows']:,}",
                f"{s['flagged']:,}",
                f"{s['anomalous']:,}" if known else "-",
                _prf(int(s["tp"]), int(s["fp"]), int(s["fn"])) if known else "-",
            ]
        )
    shown = list(run.assets.items())[:max_plots]
    plots = "".join(f"<figure>{asset_plot(asset, a)}</figure>" for asset, a in shown)
    more = len(run.assets) - len(shown)
    if len(run.latencies_ms):
        latency = latency_plot(run.latencies_ms) + (
            f'<p class="note">{len(run.latencies_ms):,} windows: detection message time minus '
            "input message time (producer timestamps).</p>"
        )
    else:
        latency = (
            '<p class="note">Not available: it needs the producer timestamps of both the input '
            "records and the detections (read them from Kafka, or kcat -J files, and pass "
            "--records).</p>"
        )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>{STYLE}</style></head>
<body><h1>{escape(title)}</h1>
<p class="note">Generated {time.strftime("%Y-%m-%d %H:%M:%S %Z")} by edgewatch report.</p>
<h2>Summary</h2>{_table(["", ""], summary)}
<h2>Assets</h2>{_table(header, rows)}
<h2>Signals, scores and detections</h2>
<p class="note">Top: input channels, z-scored per asset. Bottom: model score (red, peak per
pixel) and threshold (dashed); ticks mark windows flagged anomalous; shaded: labelled
anomalies.{f" The first {len(shown)} assets of {len(run.assets)} are plotted." if more else ""}</p>
{plots}
<h2>End-to-end latency</h2>{latency}
<script>{SCRIPT}</script>
</body></html>
"""


def report_command(
    run: Annotated[str, typer.Argument(help="Detections: a JSON-lines file, or a topic with -b.")],
    out: Annotated[Path, typer.Option(help="HTML file to write.")] = Path("report.html"),
    records: Annotated[
        str | None, typer.Option(help="Input records (file or topic): signals and latency.")
    ] = None,
    bootstrap_servers: Annotated[
        str | None,
        typer.Option("--bootstrap-servers", "-b", help="Kafka host:port, to read topics."),
    ] = None,
    assets: Annotated[
        str | None, typer.Option(help="Only these assets: comma-separated globs.")
    ] = None,
    max_plots: Annotated[int, typer.Option(min=1, help="Plot at most this many assets.")] = 50,
    title: Annotated[str | None, typer.Option(help="Page title.")] = None,
) -> None:
    """Write a self-contained HTML report of a run: plots per asset and a latency histogram."""
    patterns = [p.strip() for p in assets.split(",")] if assets else []
    with console.status("reading the run"):
        data = load_run(run, records, bootstrap_servers, patterns)
    out.write_text(render(data, title or f"edgewatch run: {run}", max_plots), encoding="utf-8")
    console.print(
        f"wrote {out} ({out.stat().st_size / 1024:,.0f} KiB): {data.detections:,} detections, "
        f"{len(data.assets):,} assets, {len(data.latencies_ms):,} latencies"
    )
