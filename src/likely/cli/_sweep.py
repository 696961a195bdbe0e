"""`likely sweep`: search a `likely train` config's fields with Optuna; keep the best model."""

from __future__ import annotations

from pathlib import Path

import click

from likely.cli._main_job import _ensure_backend, reports_input_errors


@click.command()
@click.argument("config_path", metavar="CONFIG", type=click.Path(path_type=Path))
@click.option(
    "--trials",
    "-n",
    type=click.IntRange(min=0),
    default=20,
    show_default=True,
    help="Trials this process runs.",
)
@click.option(
    "--output",
    "-o",
    "output_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder of the best trial's model.keras and best-config.yaml "
    "[default: likely-sweeps/<study name>].",
)
@click.option("--storage", default=None, help="Optuna storage URL [default: the file's study].")
@click.option("--study-name", default=None, help="Study name [default: the file's study.name].")
@click.option("--no-tracking", is_flag=True, help="Do not log the trials to MLflow.")
@reports_input_errors
def sweep(
    config_path: Path,
    trials: int,
    output_dir: Path | None,
    storage: str | None,
    study_name: str | None,
    no_tracking: bool,
) -> None:
    """Search the fields of a train config (its `search` section) with Optuna; keep the best.

    CONFIG is a `likely train` config plus a `search` section of dotted fields
    (e.g. model.num_components) and their ranges. Every trial is trained as
    `likely train` trains it and scored by its held-out NLL on the
    early-stopping rows; the best so far is saved in the output folder.
    `likely train <output>/best-config.yaml` retrains, evaluates and tracks it.
    Start the command in several processes with a shared --storage to work
    on one study in parallel.
    """
    import optuna

    from likely.experiment import load_sweep_config, sweep_from_config

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # one line per trial is ours
    config = load_sweep_config(config_path)
    _ensure_backend(config.training.backend)
    result = sweep_from_config(
        config,
        trials,
        output_dir=output_dir,
        storage=storage,
        study_name=study_name,
        tracking=False if no_tracking else None,
        echo=click.echo,
    )
    click.echo(f"Study {result.study_name!r} ({result.storage}): {result.n_trials} trials")
    if result.best_value is None:
        click.echo("No trial has completed yet.")
    else:
        click.echo(f"Best held-out NLL: {result.best_value:.6g}  params: {result.best_params}")
    if result.model_path is not None:
        click.echo(
            f"wrote {result.model_path} and {result.best_config} (trial {result.best_trial})"
        )
        click.echo(f"retrain, evaluate and track it: likely train {result.best_config}")
    if result.parent_run_id:
        click.echo(f"MLflow parent run {result.parent_run_id}")
