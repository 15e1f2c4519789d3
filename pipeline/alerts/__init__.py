"""Signed alert webhooks: the durable outbox, the dispatcher and the reference receiver."""

__all__: list[str] = []
