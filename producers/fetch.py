"""`edgewatch datasets fetch`: download (or import) a public data set and verify its checksums.

Archives may nest (NASA's zip holds ``CMAPSSData.zip``); the files we need are found by name at
any depth. Every extracted file is checked against the digest of the published file; a mismatch
is an error and nothing is left half-written in the data folder.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edgewatch.errors import ConfigError, DataError

__all__ = ["SOURCES", "Source", "fetch"]


@dataclass(frozen=True, slots=True)
class Source:
    folder: str
    url: str
    files: dict[str, tuple[str, str]]  # file name -> (hash algorithm, hex digest)
    licence: str


SOURCES = {
    "fd001": Source(
        folder="cmapss",
        url="https://phm-datasets.s3.amazonaws.com/NASA/6.+Turbofan+Engine+Degradation+Simulation+Data+Set.zip",
        files={
            "train_FD001.txt": ("md5", "259f340bac32ce6fa8894815600fa757"),
            "test_FD001.txt": ("md5", "62316d1dd70f88a9a43a1e2690765437"),
            "RUL_FD001.txt": ("md5", "8f4a8b3d2692b2f7d8e72b344927bf4b"),
        },
        licence="public domain (NASA Prognostics Center of Excellence)",
    ),
    "metropt": Source(
        folder="metropt3",
        url="https://archive.ics.uci.edu/static/public/791/metropt+3+dataset.zip",
        files={
            "MetroPT3(AirCompressor).csv": (
                "sha256",
                "db30ccb4ea402e3c8bf2c99db06e288d4f2a772f6928f9dbe26a920d69793e24",
            )
        },
        licence="CC BY 4.0 (UCI Machine Learning Repository)",
    ),
}


def _digest(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _extract(archive: zipfile.ZipFile, wanted: set[str], into: Path) -> set[str]:
    """Copy the wanted members (by base name, at any depth, inside nested zips too)."""
    found: set[str] = set()
    for info in archive.infolist():
        name = Path(info.filename).name
        if name in wanted and name not in found:
            with archive.open(info) as src, (into / name).open("wb") as dst:
                shutil.copyfileobj(src, dst)
            found.add(name)
        elif name.lower().endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(archive.read(info))) as inner:
                found |= _extract(inner, wanted - found, into)
    return found


def _download(
    name: str, url: str, to: Path, timeout_s: float, on_bytes: Callable[[int], None] | None
) -> None:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response, to.open("wb") as out:
            while chunk := response.read(1 << 20):
                out.write(chunk)
                if on_bytes is not None:
                    on_bytes(len(chunk))
    except (urllib.error.URLError, OSError) as exc:
        raise DataError(
            f"cannot download {url} ({exc}). Without internet access, download it by hand "
            f"on a connected machine and run `edgewatch datasets fetch {name} --from FILE`"
        ) from exc


def fetch(
    name: str,
    data_dir: Path,
    from_path: Path | None = None,
    url: str | None = None,
    timeout_s: float = 15.0,
    on_bytes: Callable[[int], None] | None = None,
) -> Path:
    """Install data set ``name`` under ``data_dir``; return its folder. Idempotent."""
    if name not in SOURCES:
        raise ConfigError.invalid("DATASET", f"must be one of: {', '.join(SOURCES)}", name)
    source = SOURCES[name]
    target = data_dir / source.folder
    wanted = set(source.files)
    with tempfile.TemporaryDirectory(prefix="edgewatch-fetch-") as tmp:
        staging = Path(tmp)
        if from_path is None:
            archive = staging / "download.zip"
            _download(name, url or source.url, archive, timeout_s, on_bytes)
            from_path = archive
        if from_path.is_dir():
            for file in wanted:
                if (from_path / file).is_file():
                    shutil.copyfile(from_path / file, staging / file)
        elif zipfile.is_zipfile(from_path):
            with zipfile.ZipFile(from_path) as zipped:
                _extract(zipped, wanted, staging)
        elif from_path.is_file() and from_path.name in wanted:
            shutil.copyfile(from_path, staging / from_path.name)
        else:
            raise DataError(f"{from_path} is neither a folder, a zip nor one of {sorted(wanted)}")
        missing = sorted(f for f in wanted if not (staging / f).is_file())
        if missing:
            raise DataError(f"{from_path} does not contain {missing}")
        for file, (algorithm, expected) in source.files.items():
            actual = _digest(staging / file, algorithm)
            if actual != expected:
                raise DataError(
                    f"{file} from {from_path}: {algorithm} {actual} does not match the published "
                    f"{expected}; the copy is corrupt or a different version"
                )
        target.mkdir(parents=True, exist_ok=True)
        for file in wanted:
            shutil.move(str(staging / file), target / file)
    return target
