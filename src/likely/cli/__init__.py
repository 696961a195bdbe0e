"""The `likely` command line. Each command is thin: parse, call one library function, print."""

from __future__ import annotations

import click

from likely.cli._demo import demo, tutorial
from likely.cli._main_job import datasets, evaluate, init, predict, train
from likely.cli._sweep import sweep
from likely.cli._tracking import register, ui


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="likely")
def main() -> None:
    """likely: neural networks that predict distributions, tracked with MLflow."""
    import os

    # MLflow logs its store's set-up at INFO; on the command line that buries the output.
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


main.add_command(demo)
main.add_command(tutorial)
for _command in (init, train, evaluate, predict, datasets):
    main.add_command(_command)
main.add_command(ui)
main.add_command(register)
main.add_command(sweep)

__all__ = ["main"]
