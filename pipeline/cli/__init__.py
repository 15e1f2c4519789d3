"""The `edgewatch` command line: the Typer app and its commands."""

__all__: list[str] = []
