"""Models: builders, ensembles, and turning a trained network into a predictive distribution."""

from likely.models._builders import head_layer, mlp
from likely.models._predict import (
    DEFAULT_N_SAMPLES,
    DEFAULT_PREDICT_BATCH_SIZE,
    apply_recalibration,
    is_stochastic,
    output_head,
    predict_distribution,
    predictive_from_params,
    register_recalibration,
)
from likely.models._predictive import Predictive, check_probability, check_values

__all__ = [
    "DEFAULT_N_SAMPLES",
    "DEFAULT_PREDICT_BATCH_SIZE",
    "Predictive",
    "apply_recalibration",
    "check_probability",
    "check_values",
    "head_layer",
    "is_stochastic",
    "mlp",
    "output_head",
    "predict_distribution",
    "predictive_from_params",
    "register_recalibration",
]
