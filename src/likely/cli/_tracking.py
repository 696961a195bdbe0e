"""`likely ui`, `likely register`, `likely sweep`: thin commands over likely.tracking and sweeps."""

from __future__ import annotations

import click


@click.command()
@click.option("--port", "-p", default=5000, show_default=True, help="Port of the UI.")
@click.option(
    "--backend-store-uri",
    default=None,
    help="Store to show (default: MLFLOW_TRACKING_URI, else ./mlflow.db).",
)
def ui(port: int, backend_store_uri: str | None) -> None:
    """Open the MLflow UI on the tracked runs, at http://127.0.0.1:PORT."""
    from likely.tracking import serve_ui, ui_command

    try:
        ui_command(port, backend_store_uri)
    except ValueError as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"MLflow UI on http://127.0.0.1:{port} (Ctrl-C stops it)")
    raise SystemExit(serve_ui(port, backend_store_uri))


@click.command()
@click.argument("run_id")
@click.argument("name")
@click.option("--alias", default=None, help="Alias for the new version, e.g. champion.")
def register(run_id: str, name: str, alias: str | None) -> None:
    """Register the model of run RUN_ID as NAME (a new version), optionally with an alias."""
    from likely.tracking import register_model

    try:
        version = register_model(run_id, name, alias)
    except Exception as err:  # noqa: BLE001 - MLflow's errors, shown without a traceback
        raise click.ClickException(f"Could not register run {run_id}: {err}") from err
    where = f"models:/{name}@{alias}" if alias else f"models:/{name}/{version.version}"
    click.echo(f"Registered {name} version {version.version}: {where}")


@click.command()
@click.argument("config", type=click.Path(exists=True, dir_okay=False))
@click.option("--trials", "-n", default=20, show_default=True, help="Trials this worker runs.")
@click.option("--storage", default=None, help="Optuna storage URL (default from the config).")
@click.option("--study-name", default=None, help="Study name (default from the config).")
@click.option("--no-tracking", is_flag=True, help="Do not log the trials to MLflow.")
def sweep(
    config: str, trials: int, storage: str | None, study_name: str | None, no_tracking: bool
) -> None:
    """Search hyperparameters of the sweep file CONFIG with Optuna (TPE, pruning on val_loss).

    Start the same command in several processes, with a shared --storage, to
    work on one study in parallel.
    """
    from pydantic import ValidationError

    from likely.experiment._sweep_config import sweep_from_config

    try:
        result = sweep_from_config(
            config,
            trials,
            storage=storage,
            study_name=study_name,
            tracking=False if no_tracking else None,
        )
    except (ValidationError, ValueError) as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"Study {result.study_name!r} ({result.storage}): {result.n_trials} trials")
    click.echo(f"Best value: {result.best_value}")
    click.echo(f"Best params: {result.best_params}")
    if result.parent_run_id:
        click.echo(f"MLflow parent run: {result.parent_run_id}")
