"""likely: neural networks that predict distributions, not just numbers.

Importing likely selects the JAX backend for Keras unless `KERAS_BACKEND` is
set (or Keras was already imported), and registers every serializable layer
and loss, so saved models load back.
"""

from likely._backend import select_default_backend

select_default_backend()

from likely import datasets, distributions, layers, losses, models  # noqa: E402
from likely.models import Predictive, predict_distribution  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "Predictive",
    "__version__",
    "datasets",
    "distributions",
    "layers",
    "losses",
    "models",
    "predict_distribution",
]
