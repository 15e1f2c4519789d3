"""Kafka clients behind the transport interfaces (kafka-python, confluent-kafka) and the embedded
broker."""

__all__: list[str] = []
