"""edgewatch: streaming anomaly detection for industrial sensor streams.

The one installed namespace. Its own modules hold what every part shares: the exception tree, the
`SensorRecord` wire contract, detections, incident events and the transport interfaces. The parts
build on them: `edgewatch.producers` (data sets and replay), `edgewatch.operators` (broker-free
stream operators), `edgewatch.models` (networks, training, artifacts) and `edgewatch.pipeline`
(the running application and the CLI). Their folders sit at the top of the repository.
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
