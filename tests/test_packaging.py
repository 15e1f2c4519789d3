"""The wheel installs one top-level name, `edgewatch`, with its data files, and nothing else."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PIP = [sys.executable, "-m", "pip", "--quiet"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # Built from a copy: an in-tree build leaves build/lib behind, and stale files there would
    # slip into later wheels.
    source = out / "source"
    skip = shutil.ignore_patterns(".*", "build", "dist", "*.egg-info", "__pycache__", "results")
    shutil.copytree(ROOT, source, symlinks=True, ignore=skip)
    subprocess.run(
        [*PIP, "wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", str(out), str(source)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("edgewatch-*.whl")
    return built


def test_wheel_has_one_top_level_name(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/", 1)[0] for n in names}
    name_version = "-".join(wheel.name.split("-")[:2])
    assert tops == {"edgewatch", f"{name_version}.dist-info"}
    for part in ("pipeline", "operators", "models", "producers"):
        assert f"edgewatch/{part}/__init__.py" in names
    assert "edgewatch/pipeline/cli/main.py" in names
    assert any(n.startswith("edgewatch/models/artifacts/") and n.endswith(".onnx") for n in names)
    assert "edgewatch/producers/data/metropt3_failure_windows.csv" in names


def test_installed_wheel_imports_only_under_edgewatch(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [*PIP, "install", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    assert {p.name for p in target.iterdir() if p.name != "bin"} == {
        "edgewatch",
        next(p.name for p in target.glob("edgewatch-*.dist-info")),
    }
    probe = (
        "import importlib.util, edgewatch.pipeline.cli.main as m\n"
        f"assert m.__file__.startswith({str(target)!r}), m.__file__\n"
        "for name in ('models', 'pipeline', 'operators', 'producers'):\n"
        "    assert importlib.util.find_spec(name) is None, name\n"
    )
    # Run outside the repository, so its folders are not on the path as the current directory.
    subprocess.run(
        [sys.executable, "-c", probe],
        check=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
    )
