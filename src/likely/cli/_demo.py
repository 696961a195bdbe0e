"""`likely demo`: the DC2 photo-z job on embedded defaults."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option(
    "--output",
    "-o",
    "output_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the trained model and the plots "
    "[default: a new one, likely-demo, likely-demo-2, ...].",
)
@click.option(
    "--epochs",
    type=click.IntRange(min=1),
    default=None,
    help="Training epochs (default: the demo's measured setting). "
    "Fewer epochs make a quick smoke run, not the real result.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the whole run.")
@click.option("--no-tracking", is_flag=True, help="Do not log the run to MLflow.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--force", is_flag=True, help="Replace the model of an earlier run in OUTPUT.")
def demo(
    output_dir: Path | None,
    epochs: int | None,
    seed: int,
    no_tracking: bool,
    quiet: bool,
    force: bool,
) -> None:
    """Photometric redshifts for the DC2 sample, end to end.

    Trains a 5-member ensemble of mixture density networks on the DC2
    training file (10,225 galaxies), predicts the validation file (20,449
    galaxies), prints the photo-z report beside RAIL FlexZBoost's published
    numbers, saves the model and plots in OUTPUT (a new folder for each run unless
    given) and logs the run to MLflow
    (./mlflow.db unless MLFLOW_TRACKING_URI is set; see it with `likely ui`).
    """
    import sys
    import time

    from rich.console import Console
    from rich.table import Table

    import likely
    from likely.demo import comparison_rows, run_demo
    from likely.errors import InputError

    console = Console()
    console.print(
        f"likely {likely.__version__} on Keras {_keras_version()} "
        f"({_backend_and_device()}): DC2 photo-z demo"
    )
    start = time.perf_counter()
    try:
        result = run_demo(
            output_dir,
            epochs=epochs,
            seed=seed,
            tracking=not no_tracking,
            progress=not quiet,
            overwrite=force,
        )
    except InputError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(2)
    seconds = time.perf_counter() - start

    table = Table(title="DC2 validation file (20,449 galaxies)")
    table.add_column("metric")
    table.add_column("likely", justify="right")
    table.add_column("RAIL FlexZBoost", justify="right")
    for row in comparison_rows(result.report):
        table.add_row(*row)
    console.print(table)
    console.print(f"wall time: {seconds:.1f} s")
    for path in result.files:
        console.print(f"wrote {path}")
    if result.run_id:
        console.print(f"MLflow run {result.run_id} (see it with: likely ui)")


def _keras_version() -> str:
    import keras

    return keras.__version__


def _backend_and_device() -> str:
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        device = jax.devices()[0]
        return f"backend jax, device {device.platform}"
    return f"backend {backend}"


@click.command()
@click.option(
    "--output",
    "-o",
    "output_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("likely-tutorial"),
    show_default=True,
    help="Folder for the PNG figures.",
)
@click.option("--epochs", type=click.IntRange(min=1), default=200, show_default=True)
def tutorial(output_dir: Path, epochs: int) -> None:
    """The course practical: MSE on D2, a Gaussian head on D2, a mixture on D3.

    Writes one PNG per step in OUTPUT.
    """
    from likely.tutorial import run_tutorial

    for name, path in run_tutorial(output_dir, epochs=epochs).items():
        click.echo(f"{name}: {path}")
