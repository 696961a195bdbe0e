"""likely: neural networks that predict distributions, not just numbers.

Importing likely selects the JAX backend for Keras unless `KERAS_BACKEND` is
set (or Keras was already imported), and registers every serializable layer
and loss, so saved models load back.
"""

from likely._backend import select_default_backend

select_default_backend()

from likely import datasets, distributions, layers, losses, models  # noqa: E402
from likely import calibration, metrics, plots  # noqa: E402
from likely.models import Predictive, predict_distribution  # noqa: E402
from likely import callbacks, tracking  # noqa: E402
from likely.tracking import load_model  # noqa: E402
from likely import experiment  # noqa: E402  (registers FeaturePipeline)


def __getattr__(name: str):
    # scikit-learn is imported only when the estimator is used.
    if name == "ProbabilisticRegressor":
        from likely.estimators import ProbabilisticRegressor

        return ProbabilisticRegressor
    raise AttributeError(f"module 'likely' has no attribute {name!r}")


__version__ = "0.1.0"

__all__ = [
    "Predictive",
    "ProbabilisticRegressor",
    "__version__",
    "calibration",
    "callbacks",
    "datasets",
    "distributions",
    "experiment",
    "layers",
    "load_model",
    "losses",
    "metrics",
    "models",
    "plots",
    "predict_distribution",
    "tracking",
]
