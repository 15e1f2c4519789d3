"""The running application: settings, Kafka transport, the processing loop, sinks, metrics, the
embedded broker and the `edgewatch` CLI."""

__all__: list[str] = []
