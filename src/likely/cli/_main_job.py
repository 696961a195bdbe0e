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
    from likely.experiment import load_trained_model

    return load_trained_model(model)


TEMPLATES = {"dc2": "dc2_photoz.yaml", "table": "table.yaml"}


@click.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), default="likely.yaml")
@click.option(
    "--template",
    type=click.Choice(sorted(TEMPLATES)),
    default="dc2",
    show_default=True,
    help="dc2: the DC2 photo-z job; table: any table of numeric columns.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(path: Path, template: str, force: bool) -> None:
    """Write a commented config to PATH: the DC2 photo-z job, or one for any table."""
    from importlib import resources

    if path.exists() and not force:
        click.echo(f"error: {path} exists; use --force to overwrite it", err=True)
        sys.exit(EXIT_BAD_INPUT)
    text = (resources.files("likely.experiment") / TEMPLATES[template]).read_text()
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
    help="Folder for the model and plots [default: a new one, likely-runs/<run name or id>, "
    "with -2, -3, ... appended when taken].",
)
@click.option(
    "--resume",
    "resume_run",
    default=None,
    metavar="RUN_ID",
    help="Continue an interrupted run from its last completed epoch.",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--force", is_flag=True, help="Replace the model of an earlier run in --output.")
@reports_input_errors
def train(
    config_path: Path, output_dir: Path | None, resume_run: str | None, quiet: bool, force: bool
) -> None:
    """Train, evaluate and track the model described by CONFIG (YAML)."""
    from likely.experiment import load_config, run_training

    config = load_config(config_path)
    _ensure_backend(config.training.backend)
    result = run_training(
        config, output_dir=output_dir, resume_run=resume_run, progress=not quiet, overwrite=force
    )
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
    help="Metric set [default: the config's, else regression; photoz for a qp file].",
)
@click.option(
    "--target",
    default=None,
    help="qp file: column of DATA with the true values [default: the config's, else redshift].",
)
@click.option(
    "--id-column",
    default=None,
    help="qp file: column of DATA matching the file's ancillary id [default: rows in order].",
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
    model: str,
    data: str,
    config_path: Path | None,
    kind: str | None,
    target: str | None,
    id_column: str | None,
    output_dir: Path | None,
) -> None:
    """Score MODEL on the table DATA (which holds the target column).

    MODEL may also be a qp file of predictions (from `likely predict
    --output-format qp` or any RAIL estimator, e.g. FlexZBoost): its PDFs are
    scored against DATA's true values.
    """
    from likely import io
    from likely.experiment import evaluate as evaluate_model
    from likely.experiment import load_config

    config = load_config(config_path) if config_path else None
    if io.is_qp_file(model):
        from likely.experiment import evaluate_qp

        result = evaluate_qp(
            model,
            data,
            target=target or (config.data.target if config else "redshift"),
            id_column=id_column,
            kind=kind or "photoz",
            output_dir=output_dir,
        )
    else:
        if target is not None or id_column is not None:
            from likely.errors import InputError

            raise InputError("--target and --id-column are for qp files of predictions")
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
    help="Output table (.parquet or .csv), or qp file (.hdf5, with --output-format qp); "
    "with --engine dask, a folder.",
)
@click.option(
    "--output-format",
    type=click.Choice(["parquet", "csv", "qp"]),
    default=None,
    help="Output format [default: from the suffix]. qp: a qp ensemble file (qp.read opens it; "
    "RAIL's format): the normal mixture itself, or PDFs on --pdf-grid, with ancillary zmode, "
    "zmean and id.",
)
@click.option(
    "--invalid-rows",
    type=click.Choice(["error", "flag"]),
    default="error",
    show_default=True,
    help="Rows with NaN/inf inputs: stop with an error, or flag them (NaN predictions and "
    "invalid_input=True) and go on.",
)
@click.option("--id-column", default=None, help="Column passed through [default: the model's].")
@click.option(
    "--quantiles",
    default="0.05,0.16,0.5,0.84,0.95",
    show_default=True,
    help="Comma-separated quantile levels (table outputs).",
)
@click.option(
    "--pdf-grid",
    default=None,
    metavar="START:STOP:NUM",
    help="Also write PDFs on this grid, e.g. 0:3:301 (qp output: store PDFs on it, qp interp).",
)
@click.option(
    "--mixture-parameters", is_flag=True, help="Also write weights, locs and scales (tables)."
)
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
@click.pass_context
@reports_input_errors
def predict(
    context: click.Context,
    model: str,
    input_path: str,
    output_path: Path,
    output_format: str | None,
    invalid_rows: str,
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
    from likely.errors import InputError
    from likely.experiment import run_prediction

    if output_format == "qp" and _given(context, "quantiles"):
        raise InputError("--quantiles are table columns; a qp file holds the whole PDF")
    if engine == "dask" and (output_format == "qp" or invalid_rows != "error"):
        raise InputError(
            "--output-format qp and --invalid-rows flag need --engine local (the Dask engine "
            "writes Parquet partitions and stops on invalid values)"
        )
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
        invalid_values=invalid_rows,
        output_format=output_format,
    )
    click.echo(f"wrote {rows} rows to {output_path}")


@click.command()
def datasets() -> None:
    """List the built-in data sets."""
    from likely.datasets import describe_builtins

    for name, description in describe_builtins().items():
        click.echo(f"{name:16s} {description}")


def _given(context: click.Context, name: str) -> bool:
    """Whether the option `name` was set on the command line (not left at its default)."""
    source = context.get_parameter_source(name)
    return source is not None and source != click.core.ParameterSource.DEFAULT


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
