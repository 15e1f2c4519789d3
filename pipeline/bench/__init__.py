"""`edgewatch bench`: every number of BENCHMARKS.md, measured in one run."""

__all__: list[str] = []
