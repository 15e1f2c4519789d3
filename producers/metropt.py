"""MetroPT-3: the air production unit of a metro train compressor (UCI data set 791), one asset.

The official CSV exactly as published: an unnamed index column, ``timestamp`` (naive, read as
UTC, like the failure report's windows), 7 analogue and 8 digital channels (``DV_eletric`` spelt
as in the file). Labels come from failure windows: by default the four air-leak failures of the
company's failure report, shipped with the package. The real file is 218 MB: it is read in
chunks, so memory stays bounded however long it is.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from edgewatch.errors import DataError
from edgewatch.producers.csvfile import CsvSource

__all__ = ["ANALOG", "CHANNELS", "DIGITAL", "FILE_NAME", "default_windows", "metropt"]

ANALOG = ("TP2", "TP3", "H1", "DV_pressure", "Reservoirs", "Oil_temperature", "Motor_current")
DIGITAL = (
    "COMP", "DV_eletric", "Towers", "MPG", "LPS", "Pressure_switch", "Oil_level", "Caudal_impulses",
)  # fmt: skip
CHANNELS = ANALOG + DIGITAL
FILE_NAME = "MetroPT3(AirCompressor).csv"
ASSET = "metropt3-apu"


def default_windows() -> Path:
    """The four official air-leak failure windows (start, end, failure, severity)."""
    return Path(
        str(resources.files("edgewatch.producers") / "data" / "metropt3_failure_windows.csv")
    )


def metropt(path: Path, windows: Path | None = None, chunk_rows: int = 50_000) -> CsvSource:
    """A reader of the official file; ``path`` is the CSV or a folder holding ``FILE_NAME``."""
    if path.is_dir():
        path = path / FILE_NAME
    if not path.is_file():
        raise DataError(
            f"{path} does not exist; download MetroPT-3 with `edgewatch datasets fetch metropt` "
            "or point --path at the CSV"
        )
    return CsvSource(
        path=path,
        timestamp_column="timestamp",
        timestamp_unit="iso",
        columns=CHANNELS,
        asset=ASSET,
        windows=windows or default_windows(),
        delimiter=",",
        source="metropt3",
        chunk_rows=chunk_rows,
    )
