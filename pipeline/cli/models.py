"""`edgewatch train` and `edgewatch models compare|cascade` (they need the train extra)."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import numpy as np
import orjson
import pandas as pd
import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from edgewatch.errors import ConfigError, DependencyMissingError
from edgewatch.models.artifacts import SHIPPED, SHIPPED_MODELS, shipped_card
from edgewatch.pipeline.cli.common import ConfigOpt, LogOpt, console, load_settings
from edgewatch.pipeline.settings import Settings
from edgewatch.producers.datasets import default_data_dir

if TYPE_CHECKING:
    from edgewatch.models.owndata import Mode
    from edgewatch.models.recipes import Recipe, RecipeName
    from edgewatch.models.windows import Splits

__all__ = ["models_app", "train_command"]

Opt = typer.Option
ARTIFACTS = SHIPPED  # default of --out and --artifacts
DatasetOpt = Annotated[Literal["simulated", "fd001"], Opt(help="simulated or fd001.")]
PathOpt = Annotated[Path | None, Opt(help="fd001: folder of the C-MAPSS files.")]
SeedOpt = Annotated[int, Opt(help="Seed of every random choice.")]
EpochsOpt = Annotated[int, Opt(min=1, help="Most epochs (early stopping may end sooner).")]
ResultsOpt = Annotated[Path, Opt(help="Results folder; a sub-folder per data set.")]
RecipeOpt = Annotated[
    Literal["shipped", "paper"],
    Opt(help="shipped: how the shipped model is trained; paper: the paper's protocol."),
]
SeqLenOpt = Annotated[
    int | None, Opt(min=2, max=1_000, help="Readings per window (default: the recipe's).")
]
TargetOpt = Annotated[
    Literal["label", "health"] | None,
    Opt(help="fd001: fit the 0/1 label or the health 1 - min(RUL, 125)/125 (default: recipe's)."),
]
PadOpt = Annotated[
    bool | None,
    Opt("--pad-start/--no-pad-start", help="fd001: every reading ends a window (recipe's)."),
]
DecayOpt = Annotated[
    float | None, Opt(min=0.0, max=0.99, help="AdamW weight decay (default: the recipe's).")
]

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


def _splits(dataset: str, settings: Settings, path: Path | None, seed: int, rec: Recipe) -> Splits:
    from edgewatch.models.windows import fd001_splits, simulated_splits

    with console.status(f"{dataset}: building windows"):
        if dataset == "fd001":
            folder = path or (settings.data_dir or default_data_dir()) / "cmapss"
            channels = None if rec.channels is None else list(rec.channels)
            splits = fd001_splits(
                folder, rec.seq_len, seed=seed, pad_start=rec.pad_start, channels=channels,
                target=rec.target,
            )  # fmt: skip
        else:
            for flag, value in (
                ("--target health", rec.target == "health"),
                ("--pad-start", rec.pad_start),
                ("--channels", rec.channels is not None),
            ):
                if value:
                    raise ConfigError(f"{flag} applies to --dataset fd001, not simulated")
            splits = simulated_splits(seq_len=rec.seq_len)
    console.print(
        f"{dataset}: {len(splits.train):,} train / {len(splits.val):,} validation / "
        f"{len(splits.test):,} test windows of {rec.seq_len} x {len(splits.channels)}"
    )
    return splits


def _recipe(
    dataset: str,
    name: RecipeName,
    seq_len: int | None,
    channels: str | None,
    target: str | None,
    pad_start: bool | None,
    weight_decay: float | None,
) -> Recipe:
    from edgewatch.models.recipes import recipe

    return recipe(
        dataset, name, seq_len=seq_len, channels=_names(channels), target=target,
        pad_start=pad_start, weight_decay=weight_decay,
    )  # fmt: skip


def train_command(
    dataset: Annotated[
        Literal["simulated", "fd001", "csv", "metropt"],
        Opt(help="simulated, fd001, or your own data: csv (--path) or metropt."),
    ],
    out: Annotated[
        Path | None,
        Opt(help="Folder for the .onnx and card (default: shipped ones in place; else ./models)."),
    ] = None,
    path: Annotated[
        Path | None, Opt(help="fd001/metropt: folder of the files; csv: a file or folder.")
    ] = None,
    model: Annotated[
        str | None,
        Opt(help="Network (default: the shipped one; unsupervised: edge_cnn_lstm_ae, lstm_ae)."),
    ] = None,
    epochs: EpochsOpt = 40,
    seed: SeedOpt = 42,
    loss: Annotated[
        Literal["bce", "focal"], Opt(help="bce or focal (alpha .75, gamma 2).")
    ] = "bce",
    seq_len: SeqLenOpt = None,
    recipe: RecipeOpt = "shipped",
    target: TargetOpt = None,
    pad_start: PadOpt = None,
    weight_decay: DecayOpt = None,
    label_column: Annotated[str | None, Opt(help="csv: the 0/1 label column.")] = None,
    windows: Annotated[
        Path | None, Opt(help="csv/metropt: [start, end] label windows (JSON or CSV).")
    ] = None,
    asset_column: Annotated[str | None, Opt(help="csv: column naming the asset.")] = None,
    timestamp_column: Annotated[str | None, Opt(help="csv: timestamp column.")] = None,
    channels: Annotated[
        str | None,
        Opt(help="Channels to train on, comma-separated (default: all; fd001: recipe's)."),
    ] = None,
    ignore_columns: Annotated[
        str | None, Opt(help="csv: columns that are never channels, comma-separated.")
    ] = None,
    train_until: Annotated[
        str | None,
        Opt(help="csv/metropt: train on readings up to this time (ISO 8601 or epoch ms)."),
    ] = None,
    train_share: Annotated[
        float, Opt(min=0.01, max=0.99, help="csv/metropt: else on each asset's first share.")
    ] = 0.4,
    mode: Annotated[
        Literal["auto", "supervised", "unsupervised"],
        Opt(help="auto: supervised when the training part has labelled anomalies."),
    ] = "auto",
    quantile: Annotated[
        float,
        Opt(min=0.5, max=0.99999, help="Unsupervised: alarm above this validation quantile."),
    ] = 0.99,
    config: ConfigOpt = None,
    log_level: LogOpt = None,
) -> None:
    """Train a model and write its INT8 ONNX artifact and card (same seed -> same sha256).

    On your own data (csv, metropt) it trains on each asset's leading stretch: a classifier when
    that holds labelled anomalies, else a model of normal behaviour (an autoencoder whose
    reconstruction error is the score). `run --model CARD` and `evaluate --model CARD` load it."""
    settings = load_settings(config, None, log_level=log_level)
    with _train_extra():
        from edgewatch.models.job import train_artifact
        from edgewatch.models.train import Epoch, TrainConfig
    own = dataset in ("csv", "metropt")
    if own:
        splits, chosen = _own_splits(
            dataset, settings, path, seq_len or 10, mode,
            {"label_column": label_column, "windows": windows, "asset_column": asset_column,
             "timestamp_column": timestamp_column, "ignore_columns": _names(ignore_columns)},
            channels=_names(channels), train_until=train_until, train_share=train_share,
        )  # fmt: skip
        unsupervised = "pca" if len(splits.channels) > 1 else "edge_cnn_lstm_ae"
        network = model or ("edge_cnn_lstm" if chosen == "supervised" else unsupervised)
        folder = out or Path("models")
        decay = weight_decay or 0.0
    else:
        for flag, value in (("--label-column", label_column), ("--train-until", train_until)):
            if value is not None:
                raise ConfigError(f"{flag} applies to --dataset csv or metropt, not {dataset}")
        rec = _recipe(dataset, recipe, seq_len, channels, target, pad_start, weight_decay)
        splits = _splits(dataset, settings, path, seed, rec)
        network, folder = model or SHIPPED_MODELS[dataset], out or ARTIFACTS
        decay = rec.weight_decay
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

        cfg = TrainConfig(epochs=epochs, seed=seed, loss=loss, weight_decay=decay)
        card = train_artifact(
            splits, folder, cfg, network, on_step=on_step, on_epoch=on_epoch,
            command=" ".join(["edgewatch", "train", *sys.argv[2:]]),
            quantile=quantile,
        )  # fmt: skip
    console.print(f"wrote {card} and {card.with_suffix('.onnx')}")
    if own:
        console.print(f"use it: edgewatch run --model {card}  (or evaluate --model {card})")


def _names(text: str | None) -> tuple[str, ...] | None:
    return tuple(c.strip() for c in text.split(",") if c.strip()) if text else None


def _own_splits(
    dataset: str,
    settings: Settings,
    path: Path | None,
    seq_len: int,
    mode: Mode,
    options: dict[str, object],
    *,
    channels: tuple[str, ...] | None,
    train_until: str | None,
    train_share: float,
) -> tuple[Splits, str]:
    from edgewatch.models.owndata import own_splits
    from edgewatch.producers.datasets import open_dataset

    if dataset == "metropt":
        options = {"windows": options.get("windows")}
    source = open_dataset(dataset, path, settings.data_dir or default_data_dir(), **options)
    until = _epoch_ms(train_until) if train_until is not None else None
    name = f"csv-{path.stem}" if dataset == "csv" and path is not None else dataset
    with console.status(f"{name}: reading records and building windows"):
        splits, chosen = own_splits(
            source.records(), name, seq_len, train_until=until, train_share=train_share,
            channels=channels, mode=mode,
        )  # fmt: skip
    console.print(
        f"{name}: {chosen}; {len(splits.train):,} train / {len(splits.val):,} validation / "
        f"{len(splits.test):,} test windows of {seq_len} x {len(splits.channels)} "
        f"({', '.join(splits.channels)})"
    )
    return splits, chosen


def _epoch_ms(text: str) -> int:
    """``--train-until`` as event time: epoch milliseconds, or ISO 8601 (naive = UTC)."""
    if text.strip().lstrip("-").isdigit():
        return int(text)
    try:
        stamp = pd.Timestamp(text)
    except ValueError as exc:
        raise ConfigError.invalid("--train-until", "must be ISO 8601 or epoch ms", text) from exc
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return int(stamp.value // 1_000_000)


@models_app.command("compare")
def compare_command(
    dataset: DatasetOpt,
    out: ResultsOpt = Path("results"),
    path: PathOpt = None,
    epochs: EpochsOpt = 40,
    seed: SeedOpt = 42,
    confidence: Annotated[float, Opt(help="Collaborative sentinel confidence.")] = 0.9,
    recipe: RecipeOpt = "shipped",
    seq_len: SeqLenOpt = None,
    channels: Annotated[str | None, Opt(help="fd001: channels, comma-separated.")] = None,
    target: TargetOpt = None,
    pad_start: PadOpt = None,
    weight_decay: DecayOpt = None,
    name: Annotated[
        str | None, Opt(help="Sub-folder of --out (default: the data set, -paper for paper).")
    ] = None,
    artifacts: Annotated[Path, Opt(help="Folder of the shipped artifacts.")] = ARTIFACTS,
    config: ConfigOpt = None,
    log_level: LogOpt = None,
) -> None:
    """Train every variant and baseline on the same splits and print the comparison table
    (with a row for the shipped artifact when it reads the same windows)."""
    settings = load_settings(config, None, log_level=log_level)
    with _train_extra():
        from edgewatch.models.compare import compare
        from edgewatch.models.train import TrainConfig
    rec = _recipe(dataset, recipe, seq_len, channels, target, pad_start, weight_decay)
    splits = _splits(dataset, settings, path, seed, rec)
    folder = out / (name or (dataset if recipe == "shipped" else f"{dataset}-{recipe}"))
    with _train_extra(), console.status("comparing") as status:  # scikit-learn: imported late
        compare(
            splits,
            TrainConfig(epochs=epochs, seed=seed, weight_decay=rec.weight_decay),
            folder,
            confidence=confidence,
            on_progress=lambda text: status.update(f"{dataset}: {text}"),
            shipped=artifacts / shipped_card(dataset).name,
        )
    typer.echo((folder / "compare.md").read_text())
    console.print(f"wrote {folder / 'compare.json'} and compare.md")


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
    full = load_model(artifacts / shipped_card(dataset).name)
    shipped = artifacts / f"{dataset}-sentinel_lstm-int8.json"
    from edgewatch.models.recipes import Recipe

    fd001 = dataset == "fd001"
    window = Recipe(
        full.seq_len,
        tuple(full.channels) if fd001 else None,
        pad_start=fd001 and full.card.get("pad_start") is True,
    )
    splits = _splits(dataset, settings, path, seed, window)
    if shipped.is_file():  # the one the stream runs (`--gate sentinel`)
        sentinel = load_model(shipped).score
    else:
        with console.status(f"{dataset}: training a sentinel (none shipped)"):
            network = train_network("sentinel_lstm", splits, TrainConfig(epochs=epochs, seed=seed))
        with tempfile.TemporaryDirectory() as tmp:  # on ONNX Runtime, like the model
            session, _ = onnx_session(network, splits, int8=True, folder=Path(tmp))

        def sentinel(windows: np.ndarray) -> np.ndarray:
            found = session.run(None, {"window": windows.astype(np.float32)})[0]
            return np.asarray(found, dtype=np.float64).reshape(-1)

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
