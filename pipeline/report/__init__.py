"""`edgewatch report`: a run's detections and records as one self-contained HTML page."""

__all__: list[str] = []
