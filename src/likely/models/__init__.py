"""Models: builders, ensembles, and turning a trained network into a predictive distribution."""

from likely.models._builders import mlp
from likely.models._predictive import (
    DEFAULT_N_SAMPLES,
    DEFAULT_PREDICT_BATCH_SIZE,
    Predictive,
    distribution_from_params,
    is_stochastic,
    predict_distribution,
)

__all__ = [
    "DEFAULT_N_SAMPLES",
    "DEFAULT_PREDICT_BATCH_SIZE",
    "Predictive",
    "distribution_from_params",
    "is_stochastic",
    "mlp",
    "predict_distribution",
]
