"""`likely ui`, `likely register`: thin commands over likely.tracking."""

from __future__ import annotations

import click


@click.command()
@click.option("--port", "-p", default=5000, show_default=True, help="Port of the UI.")
@click.option(
    "--backend-store-uri",
    default=None,
    help="Store to show (default: MLFLOW_TRACKING_URI, else ./mlflow.db).",
)
@click.option("--no-browser", is_flag=True, help="Only print the address; open no browser.")
def ui(port: int, backend_store_uri: str | None, no_browser: bool) -> None:
    """Serve the MLflow UI on 127.0.0.1:PORT and open the runs of likely's latest experiment.

    Ctrl-C or SIGTERM stops it, with every process it started.
    """
    import sys

    from likely.errors import first_line
    from likely.tracking import serve_ui

    try:
        code = serve_ui(port, backend_store_uri, open_browser=not no_browser, echo=click.echo)
    except (OSError, ValueError, RuntimeError) as err:
        message = err.strerror if isinstance(err, OSError) and err.strerror else first_line(err)
        click.echo(f"error: {message}", err=True)
        sys.exit(2)
    sys.exit(code)


@click.command()
@click.argument("run_id")
@click.argument("name")
@click.option("--alias", default=None, help="Alias for the new version, e.g. champion.")
def register(run_id: str, name: str, alias: str | None) -> None:
    """Register the model of run RUN_ID as NAME (a new version), optionally with an alias."""
    import sys

    from likely.errors import first_line
    from likely.tracking import register_model

    try:
        version = register_model(run_id, name, alias)
    except Exception as err:  # noqa: BLE001 - MLflow's errors, shown without a traceback
        click.echo(f"error: Could not register run {run_id}: {first_line(err)}", err=True)
        sys.exit(2)
    where = f"models:/{name}@{alias}" if alias else f"models:/{name}/{version.version}"
    click.echo(f"Registered {name} version {version.version}: {where}")
