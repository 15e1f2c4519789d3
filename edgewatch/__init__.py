"""edgewatch: streaming anomaly detection for industrial sensor streams.

This small core package holds what every other package shares: the exception tree and the
`SensorRecord` wire contract. Producers, operators, models and the pipeline build on it.
"""

from edgewatch.errors import (
    BrokerError,
    ConfigError,
    DataError,
    DependencyMissingError,
    EdgewatchError,
    RecordError,
)
from edgewatch.records import SensorRecord, decode_record, encode_record

__version__ = "0.1.0"

__all__ = [
    "BrokerError",
    "ConfigError",
    "DataError",
    "DependencyMissingError",
    "EdgewatchError",
    "RecordError",
    "SensorRecord",
    "__version__",
    "decode_record",
    "encode_record",
]
