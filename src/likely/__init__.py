"""likely: neural networks that predict distributions, not just numbers.

Importing likely is fast: its subpackages and names load on first use
(PEP 562), so the command line starts without a deep-learning stack. It still
does two things at once:

- selects the JAX backend for Keras unless `KERAS_BACKEND` is set (or Keras
  was already imported);
- registers every Keras-serializable likely object (heads, layers, losses,
  the feature pipeline) as soon as Keras is imported, before or after likely,
  so that `keras.saving.load_model` reads models with likely layers (see
  `likely._backend`).

Example:
    >>> import likely
    >>> "predict_distribution" in dir(likely) and "ProbabilisticRegressor" in dir(likely)
    True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from likely._backend import register_serializables, select_default_backend

__version__ = "0.1.0"

# Subpackages and modules, imported on first attribute access.
_SUBMODULES = frozenset(
    {
        "calibration",
        "callbacks",
        "datasets",
        "distributed",
        "distributions",
        "errors",
        "estimators",
        "experiment",
        "io",
        "layers",
        "losses",
        "metrics",
        "models",
        "plots",
        "tracking",
    }
)
# Names re-exported from a submodule, imported on first access.
_NAMES = {
    "Predictive": "likely.models",
    "predict_distribution": "likely.models",
    "load_model": "likely.tracking",
    "ProbabilisticRegressor": "likely.estimators",
}

__all__ = [
    "Predictive",
    "ProbabilisticRegressor",
    "__version__",
    "calibration",
    "callbacks",
    "datasets",
    "distributed",
    "distributions",
    "errors",
    "estimators",
    "experiment",
    "io",
    "layers",
    "load_model",
    "losses",
    "metrics",
    "models",
    "plots",
    "predict_distribution",
    "tracking",
]

if TYPE_CHECKING:
    from likely import (
        calibration,
        callbacks,
        datasets,
        distributed,
        distributions,
        errors,
        estimators,
        experiment,
        io,
        layers,
        losses,
        metrics,
        models,
        plots,
        tracking,
    )
    from likely.estimators import ProbabilisticRegressor
    from likely.models import Predictive, predict_distribution
    from likely.tracking import load_model


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"likely.{name}")
    if name in _NAMES:
        value = getattr(importlib.import_module(_NAMES[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'likely' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


select_default_backend()
register_serializables()
