from __future__ import annotations

import io
import shutil
import time
import zipfile
from pathlib import Path

import pytest

from edgewatch.errors import DataError
from edgewatch.producers.fetch import fetch

FD001_FILES = ("train_FD001.txt", "test_FD001.txt", "RUL_FD001.txt")


def test_import_from_a_folder_verifies_and_installs(shared_data: Path, tmp_path: Path) -> None:
    folder = fetch("fd001", tmp_path / "data", from_path=shared_data / "cmapss")
    assert folder == tmp_path / "data" / "cmapss"
    for name in FD001_FILES:
        assert (folder / name).read_bytes() == (shared_data / "cmapss" / name).read_bytes()
    fetch("fd001", tmp_path / "data", from_path=shared_data / "cmapss")  # idempotent


def test_import_from_a_nested_zip(shared_data: Path, tmp_path: Path) -> None:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as z:
        for name in FD001_FILES:
            z.write(shared_data / "cmapss" / name, f"CMAPSSData/{name}")
    outer = tmp_path / "nasa.zip"
    with zipfile.ZipFile(outer, "w") as z:
        z.writestr("6. Turbofan/CMAPSSData.zip", inner.getvalue())
    folder = fetch("fd001", tmp_path / "data", from_path=outer)
    assert sorted(p.name for p in folder.iterdir()) == sorted(FD001_FILES)


def test_a_corrupt_copy_is_rejected_and_nothing_installed(
    shared_data: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(shared_data / "cmapss", copy)
    with (copy / "test_FD001.txt").open("a") as handle:
        handle.write("1 1 0 0 0\n")
    with pytest.raises(DataError, match=r"test_FD001\.txt .* does not match the published"):
        fetch("fd001", tmp_path / "data", from_path=copy)
    assert not (tmp_path / "data" / "cmapss").exists()


def test_an_incomplete_copy_names_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"does not contain \['RUL_FD001.txt'"):
        fetch("fd001", tmp_path / "data", from_path=tmp_path / "empty")


def test_no_network_fails_at_once_naming_the_url_and_the_manual_step(tmp_path: Path) -> None:
    url = "http://127.0.0.1:9/CMAPSSData.zip"  # nothing listens on the discard port
    started = time.monotonic()
    with pytest.raises(DataError) as info:
        fetch("fd001", tmp_path, url=url, timeout_s=5)
    assert time.monotonic() - started < 5
    assert url in str(info.value)
    assert "edgewatch datasets fetch fd001 --from FILE" in str(info.value)
