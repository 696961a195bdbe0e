"""`likely init | train | evaluate | predict | datasets`: the main job from a config file."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

EXIT_BAD_INPUT = 2


def reports_input_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turns likely's InputError into one line on stderr and exit code 2, never a traceback.

    A missing optional dependency (e.g. astropy for FITS) is reported the same
    way: its message says what to install.
    """

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from likely.errors import InputError

        try:
            return command(*args, **kwargs)
        except (InputError, ImportError) as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(EXIT_BAD_INPUT)

    return wrapper


def _load_model(model: str) -> Any:
    from likely.experiment._run import load_trained_model

    return load_trained_model(model)


@click.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), default="likely.yaml")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(path: Path, force: bool) -> None:
    """Write a commented example config (the DC2 photo-z job) to PATH."""
    from importlib import resources

    if path.exists() and not force:
        click.echo(f"error: {path} exists; use --force to overwrite it", err=True)
        sys.exit(EXIT_BAD_INPUT)
    text = (resources.files("likely.experiment") / "dc2_photoz.yaml").read_text()
    path.write_text(text)
    click.echo(f"wrote {path}; edit it, then run: likely train {path}")


@click.command()
@click.argument("config_path", metavar="CONFIG", type=click.Path(path_type=Path))
@click.option(
    "--output",
    "-o",
    "output_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the model and plots [default: likely-runs/<run name>].",
)
@click.option(
    "--resume",
    "resume_run",
    default=None,
    metavar="RUN_ID",
    help="Continue an interrupted run from its last completed epoch.",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@reports_input_errors
def train(config_path: Path, output_dir: Path | None, resume_run: str | None, quiet: bool) -> None:
    """Train, evaluate and track the model described by CONFIG (YAML)."""
    from likely.experiment import load_config
    from likely.experiment._run import run_training

    config = load_config(config_path)
    _ensure_backend(config.training.backend)
    result = run_training(config, output_dir=output_dir, resume_run=resume_run, progress=not quiet)
    _print_report(result.report, title=f"test table {config.data.test}")
    for path in result.files:
        click.echo(f"wrote {path}")
    if result.run_id:
        click.echo(f"MLflow run {result.run_id}")


@click.command()
@click.argument("model")
@click.argument("data")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Config naming the columns (default: those stored in the model).",
)
@click.option(
    "--kind",
    type=click.Choice(["regression", "photoz"]),
    default=None,
    help="Metric set [default: the config's, else regression].",
)
@click.option(
    "--output",
    "-o",
    "output_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the evaluation plots.",
)
@reports_input_errors
def evaluate(
    model: str, data: str, config_path: Path | None, kind: str | None, output_dir: Path | None
) -> None:
    """Score MODEL on the table DATA (which holds the target column)."""
    from likely.experiment import evaluate as evaluate_model
    from likely.experiment import load_config

    config = load_config(config_path) if config_path else None
    result = evaluate_model(
        _load_model(model), data, config=config, output_dir=output_dir, kind=kind
    )
    _print_report(result.report, title=str(data))
    for path in result.files:
        click.echo(f"wrote {path}")


@click.command()
@click.argument("model")
@click.argument("input_path", metavar="INPUT")
@click.option(
    "--output",
    "-o",
    "output_path",
    required=True,
    type=click.Path(path_type=Path),
    help="Output table (.parquet or .csv); with --engine dask, a folder.",
)
@click.option("--id-column", default=None, help="Column passed through [default: the model's].")
@click.option(
    "--quantiles",
    default="0.05,0.16,0.5,0.84,0.95",
    show_default=True,
    help="Comma-separated quantile levels.",
)
@click.option(
    "--pdf-grid",
    default=None,
    metavar="START:STOP:NUM",
    help="Also write PDFs on this grid, e.g. 0:3:301.",
)
@click.option("--mixture-parameters", is_flag=True, help="Also write weights, locs and scales.")
@click.option("--chunk-rows", type=click.IntRange(min=1), default=100_000, show_default=True)
@click.option(
    "--format",
    "input_format",
    default=None,
    type=click.Choice(["csv", "parquet", "hdf5", "fits"]),
    help="Input format.",
)
@click.option(
    "--engine",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
    help="dask: INPUT may be a glob of partitions ('catalog/*.parquet'), OUTPUT is a folder.",
)
@click.option("--scheduler", default=None, metavar="ADDRESS", help="Dask scheduler to use.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Local Dask worker processes [default: one per core].",
)
@reports_input_errors
def predict(
    model: str,
    input_path: str,
    output_path: Path,
    id_column: str | None,
    quantiles: str,
    pdf_grid: str | None,
    mixture_parameters: bool,
    chunk_rows: int,
    input_format: str | None,
    engine: str,
    scheduler: str | None,
    workers: int | None,
) -> None:
    """Predict distributions for every row of INPUT and write summaries to OUTPUT."""
    from likely.experiment._run import run_prediction

    if engine == "dask":
        from likely.distributed import predict_catalog

        result = predict_catalog(
            model,
            input_path,
            output_path,
            scheduler=scheduler,
            workers=workers,
            id_column=id_column,
            quantiles=_parse_quantiles(quantiles),
            pdf_grid=_parse_grid(pdf_grid),
            mixture_parameters=mixture_parameters,
            chunk_rows=chunk_rows,
            input_format=input_format,
        )
        click.echo(
            f"wrote {result.rows_written} rows in {len(result.predicted)} partitions to "
            f"{output_path} ({len(result.skipped)} already complete)"
        )
        return
    if scheduler is not None or workers is not None:
        from likely.errors import InputError

        raise InputError("--scheduler and --workers need --engine dask")

    rows = run_prediction(
        _load_model(model),
        input_path,
        output_path,
        id_column=id_column,
        quantiles=_parse_quantiles(quantiles),
        pdf_grid=_parse_grid(pdf_grid),
        mixture_parameters=mixture_parameters,
        chunk_rows=chunk_rows,
        input_format=input_format,
    )
    click.echo(f"wrote {rows} rows to {output_path}")


@click.command()
def datasets() -> None:
    """List the built-in data sets."""
    from likely.datasets import describe_builtins

    for name, description in describe_builtins().items():
        click.echo(f"{name:16s} {description}")


def _parse_quantiles(text: str) -> list[float]:
    from likely.errors import InputError

    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise InputError(f"--quantiles must be comma-separated numbers, got {text!r}") from None
    if any(not 0 < q < 1 for q in values):
        raise InputError(f"--quantiles must lie in (0, 1), got {text!r}")
    return values


def _parse_grid(text: str | None) -> Any:
    import numpy as np

    from likely.errors import InputError

    if text is None:
        return None
    try:
        start, stop, num = text.split(":")
        grid = np.linspace(float(start), float(stop), int(num))
    except ValueError:
        raise InputError(f"--pdf-grid must be START:STOP:NUM, got {text!r}") from None
    if len(grid) < 2:
        raise InputError(f"--pdf-grid needs NUM >= 2, got {text!r}")
    return grid


def _ensure_backend(backend: str | None) -> None:
    """Re-runs the command under the config's Keras backend when it differs from this one."""
    import os

    import keras

    switched = os.environ.get("LIKELY_BACKEND_SWITCHED") == "1"
    if backend is not None and keras.backend.backend() != backend and not switched:
        env = {**os.environ, "KERAS_BACKEND": backend, "LIKELY_BACKEND_SWITCHED": "1"}
        sys.stdout.flush()
        os.execve(sys.executable, [sys.executable, "-m", "likely", *sys.argv[1:]], env)


def _print_report(report: dict[str, float] | None, title: str) -> None:
    if not report:
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in report.items():
        table.add_row(name, f"{value:.5g}")
    Console().print(table)
