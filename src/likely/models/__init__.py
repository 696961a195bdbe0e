"""Models: turning a trained network into a predictive distribution."""

from likely.models._predictive import (
    DEFAULT_PREDICT_BATCH_SIZE,
    Predictive,
    distribution_from_params,
    predict_distribution,
)

__all__ = [
    "DEFAULT_PREDICT_BATCH_SIZE",
    "Predictive",
    "distribution_from_params",
    "predict_distribution",
]
