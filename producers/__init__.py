"""Dataset readers that yield `SensorRecord`s, and the replay engine that paces them into Kafka."""

from edgewatch.producers.simulated import FleetData, FleetSpec, simulate_fleet

__all__ = ["FleetData", "FleetSpec", "simulate_fleet"]
