"""`edgewatch train` and `edgewatch models compare|cascade` (they need the train extra)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import numpy as np
import orjson
import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from edgewatch.errors import DependencyMissingError
from edgewatch.models.artifacts import SHIPPED
from edgewatch.pipeline.cli.common import ConfigOpt, LogOpt, console, load_settings
from edgewatch.pipeline.settings import Settings
from edgewatch.producers.datasets import default_data_dir

if TYPE_CHECKING:
    from edgewatch.models.windows import Splits

__all__ = ["models_app", "train_command"]

Opt = typer.Option
ARTIFACTS = SHIPPED  # default of --out and --artifacts
DatasetOpt = Annotated[Literal["simulated", "fd001"], Opt(help="simulated or fd001.")]
PathOpt = Annotated[Path | None, Opt(help="fd001: folder of the C-MAPSS files.")]
SeedOpt = Annotated[int, Opt(help="Seed of every random choice.")]
EpochsOpt = Annotated[int, Opt(min=1, help="Most epochs (early stopping may end sooner).")]
ResultsOpt = Annotated[Path, Opt(help="Results folder; a sub-folder per data set.")]

models_app = typer.Typer(
    help="Compare the model variants and sweep the gate.", no_args_is_help=True
)


@contextmanager
def _train_extra() -> Iterator[None]:
    """Turn a missing torch/onnx into one clear line saying what to install."""
    try:
        yield
    except ImportError as exc:
        raise DependencyMissingError(
            f"this command needs the train extra ({exc.name} is missing): "
            "pip install 'edgewatch[train]'"
        ) from exc


def _splits(
    dataset: str, settings: Settings, path: Path | None, seed: int, seq_len: int = 10
) -> Splits:
    from edgewatch.models.windows import fd001_splits, simulated_splits

    with console.status(f"{dataset}: building windows"):
        if dataset == "fd001":
            folder = path or (settings.data_dir or default_data_dir()) / "cmapss"
            splits = fd001_splits(folder, seq_len=seq_len, seed=seed)
        else:
            splits = simulated_splits(seq_len=seq_len)
    console.print(
        f"{dataset}: {len(splits.train):,} train / {len(splits.val):,} validation / "
        f"{len(splits.test):,} test windows of {seq_len} x {len(splits.channels)}"
    )
    return splits


def train_command(
    dataset: DatasetOpt,
    out: Annotated[Path, Opt(help="Folder for the .onnx and .json card.")] = ARTIFACTS,
    path: PathOpt = None,
    model: Annotated[str, Opt(help="Network to train.")] = "edge_cnn_lstm",
    epochs: EpochsOpt = 40,
    seed: SeedOpt = 42,
    loss: Annotated[
        Literal["bce", "focal"], Opt(help="bce or focal (alpha .75, gamma 2).")
    ] = "bce",
    seq_len: Annotated[int, Opt(min=2, help="Readings per window.")] = 10,
    config: ConfigOpt = None,
    log_level: LogOpt = None,
) -> None:
    """Train a model and write its INT8 ONNX artifact and card (same seed -> same sha256)."""
    settings = load_settings(config, None, log_level=log_level)
    with _train_extra():
        from edgewatch.models.job import train_artifact
        from edgewatch.models.train import Epoch, TrainConfig
    splits = _splits(dataset, settings, path, seed, seq_len)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[losses]}"),
    )
    with Progress(*columns, console=console) as progress:
        tasks: dict[int, TaskID] = {}

        def on_step(epoch: int, step: int, steps: int) -> None:
            if epoch not in tasks:
                tasks[epoch] = progress.add_task(f"epoch {epoch}/{epochs}", total=steps, losses="")
            progress.update(tasks[epoch], completed=step)

        def on_epoch(e: Epoch) -> None:
            losses = f"train {e.train_loss:.4f}  val {e.val_loss:.4f}  lr {e.lr:.0e}"
            progress.update(tasks[e.epoch], losses=losses)

        cfg = TrainConfig(epochs=epochs, seed=seed, loss=loss)
        card = train_artifact(splits, out, cfg, model, on_step=on_step, on_epoch=on_epoch)
    console.print(f"wrote {card} and {card.with_suffix('.onnx')}")


@models_app.command("compare")
def compare_command(
    dataset: DatasetOpt,
    out: ResultsOpt = Path("results"),
    path: PathOpt = None,
    epochs: EpochsOpt = 40,
    seed: SeedOpt = 42,
    confidence: Annotated[float, Opt(help="Collaborative sentinel confidence.")] = 0.9,
    config: ConfigOpt = None,
    log_level: LogOpt = None,
) -> None:
    """Train every variant on the same splits and print the comparison table."""
    settings = load_settings(config, None, log_level=log_level)
    with _train_extra():
        from edgewatch.models.compare import compare, markdown
        from edgewatch.models.train import TrainConfig
    splits = _splits(dataset, settings, path, seed)
    with console.status("comparing") as status:
        rows = compare(
            splits,
            TrainConfig(epochs=epochs, seed=seed),
            out / dataset,
            confidence=confidence,
            on_progress=lambda text: status.update(f"{dataset}: {text}"),
        )
    typer.echo(markdown(dataset, rows))
    console.print(f"wrote {out / dataset / 'compare.json'} and compare.md")


@models_app.command("cascade")
def cascade_command(
    dataset: DatasetOpt,
    out: ResultsOpt = Path("results"),
    artifacts: Annotated[Path, Opt(help="Folder of the shipped artifacts.")] = ARTIFACTS,
    path: PathOpt = None,
    epochs: EpochsOpt = 40,
    seed: SeedOpt = 42,
    config: ConfigOpt = None,
    log_level: LogOpt = None,
) -> None:
    """Sweep the gate in front of the shipped model: wake rate, system F1 and energy."""
    settings = load_settings(config, None, log_level=log_level)
    with _train_extra():
        from edgewatch.models.artifacts import load_model
        from edgewatch.models.cascade import Costs, markdown, measure_prefilter_us, sweep
        from edgewatch.models.compare import latency_us
        from edgewatch.models.train import TrainConfig
        from edgewatch.models.variants import onnx_session, train_network
    full = load_model(artifacts / f"{dataset}-edge_cnn_lstm-int8.json")
    splits = _splits(dataset, settings, path, seed, full.seq_len)
    with console.status(f"{dataset}: training the sentinel"):
        network = train_network("sentinel_lstm", splits, TrainConfig(epochs=epochs, seed=seed))
    with tempfile.TemporaryDirectory() as tmp:  # the sentinel runs on ONNX Runtime, like the model
        session, _ = onnx_session(network, splits, int8=False, folder=Path(tmp))

    def sentinel(windows: np.ndarray) -> np.ndarray:
        return np.asarray(session.run(None, {"window": windows})[0], dtype=np.float64).reshape(-1)

    x1 = splits.test.x[:1]
    costs = Costs(
        model_us=latency_us(full.score, x1),
        sentinel_us=latency_us(sentinel, x1),
        prefilter_us=measure_prefilter_us(),
    )
    with console.status(f"{dataset}: sweeping"):
        result = sweep(splits, full.score, sentinel, costs)
    folder = out / dataset
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cascade.json").write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    text = markdown(dataset, result)
    (folder / "cascade.md").write_text(text)
    typer.echo(text)
