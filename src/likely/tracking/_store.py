"""Where runs go: the tracking URI, the on/off switch, bounded HTTP calls, lazy MLflow import."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

TRACKING_ENV = "LIKELY_TRACKING"
"""Environment variable that turns tracking off for the high-level API and the CLI (`off`)."""

FALLBACK_ENV = "LIKELY_TRACKING_FALLBACK_DIR"
"""Environment variable naming the folder where runs go when the tracker fails."""

DEFAULT_FALLBACK_DIR = "likely-fallback"
"""Folder, relative to the working directory, that keeps runs the tracker could not take."""

DEFAULT_QUANTILE_LEVELS = (0.05, 0.16, 0.5, 0.84, 0.95)
"""Quantiles a logged model's `predict` returns besides the mean and standard deviation."""

_OFF_VALUES = {"0", "false", "off", "no", "disabled"}

# A dead server must not stall training for minutes (MLflow's defaults: 7 retries,
# backoff factor 2, 120 s timeout). Used only where the user did not set them.
_HTTP_LIMITS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
}


class TrackingWarning(UserWarning):
    """The tracker failed; the run goes on and is kept in a local fallback folder."""


def mlflow_module() -> ModuleType:
    """Imports MLflow on first use (it takes seconds), with a clear error if it is missing."""
    try:
        import mlflow
    except ImportError as err:  # pragma: no cover - mlflow is a core dependency
        raise ImportError(
            "Experiment tracking needs MLflow: `pip install 'mlflow>=3.17,<3.18'`."
        ) from err
    return mlflow


def tracking_enabled(enabled: bool | None = None) -> bool:
    """Whether the high-level API and the CLI track runs.

    Args:
        enabled: An explicit choice wins; `None` reads `LIKELY_TRACKING`
            (`off`, `0`, `false` or `no` turn tracking off; on by default).

    Example:
        >>> import likely
        >>> likely.tracking.tracking_enabled(False)
        False
    """
    if enabled is not None:
        if not isinstance(enabled, bool):
            raise TypeError(f"Argument `enabled` must be a bool or None. Received: {enabled!r}")
        return enabled
    return os.environ.get(TRACKING_ENV, "on").strip().lower() not in _OFF_VALUES


def tracking_uri() -> str:
    """The tracking URI runs go to.

    `MLFLOW_TRACKING_URI` (or `mlflow.set_tracking_uri`) when set; otherwise
    MLflow's embedded default, a SQLite database `mlflow.db` in the working
    directory with artifacts under `./mlruns`.

    Example:
        >>> import likely
        >>> likely.tracking.tracking_uri().startswith(("sqlite:", "http", "file:", "/"))
        True
    """
    return str(mlflow_module().get_tracking_uri())


def fallback_root(fallback_dir: str | os.PathLike | None = None) -> Path:
    """The folder that keeps runs the tracker could not take (absolute)."""
    if fallback_dir is None:
        fallback_dir = os.environ.get(FALLBACK_ENV) or DEFAULT_FALLBACK_DIR
    return Path(fallback_dir).expanduser().resolve()


def is_remote(uri: str) -> bool:
    return uri.startswith(("http://", "https://"))


@contextlib.contextmanager
def bounded_http() -> Iterator[None]:
    """Few, short retries for tracker calls, and no retry chatter on stderr.

    Settings the user exported are kept as they are.
    """
    saved = {key: os.environ.get(key) for key in _HTTP_LIMITS}
    for key, value in _HTTP_LIMITS.items():
        if saved[key] is None:
            os.environ[key] = value
    pool_logger = logging.getLogger("urllib3.connectionpool")
    level = pool_logger.level
    pool_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        pool_logger.setLevel(level)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
