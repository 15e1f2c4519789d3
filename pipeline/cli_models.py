"""`edgewatch train`: build the shipped model artifacts from a fixed seed (train extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

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
from pipeline.cli_common import ConfigOpt, LogOpt, console, load_settings
from producers.datasets import default_data_dir

__all__ = ["train_command"]

Opt = typer.Option
ARTIFACTS = Path(__file__).resolve().parents[1] / "models" / "artifacts"


def train_command(
    dataset: Annotated[Literal["simulated", "fd001"], typer.Option(help="simulated or fd001.")],
    out: Annotated[Path, Opt(help="Folder for the .onnx and .json card.")] = ARTIFACTS,
    path: Annotated[Path | None, Opt(help="fd001: folder of the C-MAPSS files.")] = None,
    model: Annotated[str, Opt(help="Network to train.")] = "edge_cnn_lstm",
    epochs: Annotated[int, Opt(min=1, help="Most epochs (early stopping may end sooner).")] = 40,
    seed: Annotated[int, Opt(help="Seed of every random choice.")] = 42,
    loss: Annotated[
        Literal["bce", "focal"], Opt(help="bce, or focal (alpha 0.75, gamma 2).")
    ] = "bce",
    seq_len: Annotated[int, Opt(min=2, help="Readings per window.")] = 10,
    config: ConfigOpt = None,
    log_level: LogOpt = None,
) -> None:
    """Train a model and write its INT8 ONNX artifact and card (same seed -> same sha256)."""
    settings = load_settings(config, None, log_level=log_level)
    try:
        from models.job import train_artifact
        from models.train import Epoch, TrainConfig
        from models.windows import fd001_splits, simulated_splits
    except ImportError as exc:
        raise DependencyMissingError(
            f"training needs the train extra ({exc.name} is missing): "
            "pip install 'edgewatch[train]'"
        ) from exc

    cfg = TrainConfig(epochs=epochs, seed=seed, loss=loss)
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

        card = train_artifact(splits, out, cfg, model, on_step=on_step, on_epoch=on_epoch)
    console.print(f"wrote {card} and {card.with_suffix('.onnx')}")


models_app = typer.Typer(help="Compare the model variants.", no_args_is_help=True)


@models_app.command("compare")
def compare_command(
    dataset: Annotated[Literal["simulated", "fd001"], typer.Option(help="simulated or fd001.")],
    out: Annotated[Path, Opt(help="Results folder (compare.json, compare.md).")] = Path("results"),
    path: Annotated[Path | None, Opt(help="fd001: folder of the C-MAPSS files.")] = None,
    epochs: Annotated[int, Opt(min=1, help="Most epochs per variant.")] = 40,
    seed: Annotated[int, Opt(help="Seed of every random choice.")] = 42,
    confidence: Annotated[float, Opt(help="Collaborative sentinel confidence.")] = 0.9,
    config: ConfigOpt = None,
    log_level: LogOpt = None,
) -> None:
    """Train every variant on the same splits and print the comparison table."""
    settings = load_settings(config, None, log_level=log_level)
    try:
        from models.compare import compare, markdown
        from models.train import TrainConfig
        from models.windows import fd001_splits, simulated_splits
    except ImportError as exc:
        raise DependencyMissingError(
            f"comparing needs the train extra ({exc.name} is missing): "
            "pip install 'edgewatch[train]'"
        ) from exc
    if dataset == "fd001":
        folder = path or (settings.data_dir or default_data_dir()) / "cmapss"
        splits = fd001_splits(folder, seed=seed)
    else:
        splits = simulated_splits()
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
