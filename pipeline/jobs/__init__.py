"""Whole runs the CLI starts: the demo, the broker-free evaluation, the replay subprocess."""

__all__: list[str] = []
