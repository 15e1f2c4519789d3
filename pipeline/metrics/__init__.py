"""Prometheus metrics: the member's and the replay's, per-asset series behind a cap, batch latency
histograms."""

__all__: list[str] = []
