"""The `likely` command line. Each command is thin: parse, call one library function, print."""

from __future__ import annotations

import click

from likely.cli._demo import demo, tutorial


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="likely")
def main() -> None:
    """likely: neural networks that predict distributions, tracked with MLflow."""


main.add_command(demo)
main.add_command(tutorial)

__all__ = ["main"]
