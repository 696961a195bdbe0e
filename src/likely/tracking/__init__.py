"""Experiment tracking with MLflow: runs that cannot lose data, logged models, the UI.

The only place (with `likely.callbacks`) that imports MLflow, and only when a
run is opened or a model is loaded: `import likely` stays fast.

With nothing configured, runs go to MLflow's embedded store in the working
directory (`./mlflow.db`, artifacts under `./mlruns`); `MLFLOW_TRACKING_URI`
points them at a server. `LIKELY_TRACKING=off` turns tracking off for the
high-level API and the CLI.
"""

from __future__ import annotations

import os
from typing import Any

from likely.tracking._fallback import read_fallback, upload_fallback
from likely.tracking._report import report_html
from likely.tracking._run import TrackedRun, active_run, start_run
from likely.tracking._store import (
    DEFAULT_FALLBACK_DIR,
    DEFAULT_QUANTILE_LEVELS,
    TrackingWarning,
    tracking_enabled,
    tracking_uri,
)
from likely.tracking._ui import (
    PortInUseError,
    latest_experiment_id,
    serve_ui,
    ui_command,
    ui_url,
)


def load_model(model_uri: str | os.PathLike, compile: bool = True) -> Any:
    """Loads the Keras model of a logged likely model, with likely's layers.

    Args:
        model_uri: `runs:/<run_id>/model`, `models:/<name>@<alias>`,
            `models:/<name>/<version>`, `models:/<model_id>`, or a local MLflow
            model folder (such as a fallback record's `artifacts/model`).
        compile: Restore the optimizer and loss too.

    Returns:
        The `keras.Model`.

    Example:
        >>> import likely
        >>> likely.load_model is likely.tracking.load_model
        True
    """
    from likely.tracking._model import load_model as _load

    return _load(model_uri, compile=compile)


def register_model(run_id_or_uri: str, name: str, alias: str | None = None) -> Any:
    """Registers a run's logged model under `name`, optionally pointing `alias` at it.

    Args:
        run_id_or_uri: A run id (its model `model` is registered) or a model URI.
        name: Registered model name.
        alias: Alias for the new version, e.g. `"champion"`; load it back with
            `likely.load_model("models:/<name>@<alias>")`.

    Returns:
        MLflow's `ModelVersion` (`.version` is the new version number).

    Example:
        >>> import likely
        >>> callable(likely.tracking.register_model)
        True
    """
    from likely.tracking._model import register_model as _register

    return _register(run_id_or_uri, name, alias)


def save_model(path: str | os.PathLike, model: Any, **kwargs: Any) -> Any:
    """Writes a likely Keras model as an MLflow model folder (pyfunc + `.keras`), no tracker needed.

    Keyword arguments: `feature_names`, `quantile_levels`, `input_example`.

    Example:
        >>> import likely
        >>> callable(likely.tracking.save_model)
        True
    """
    from likely.tracking._model import save_model as _save

    return _save(path, model, **kwargs)


__all__ = [
    "DEFAULT_FALLBACK_DIR",
    "DEFAULT_QUANTILE_LEVELS",
    "PortInUseError",
    "TrackedRun",
    "TrackingWarning",
    "active_run",
    "latest_experiment_id",
    "load_model",
    "read_fallback",
    "register_model",
    "report_html",
    "save_model",
    "serve_ui",
    "start_run",
    "tracking_enabled",
    "tracking_uri",
    "ui_command",
    "ui_url",
    "upload_fallback",
]
