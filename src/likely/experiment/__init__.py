"""Experiments: a validated config -> data -> model -> fit -> evaluate -> log, and sweeps.

The CLI and the estimator both call these functions.
"""

from likely.experiment._config import (
    Config,
    DataConfig,
    EarlyStoppingConfig,
    EvaluationConfig,
    ModelConfig,
    PhotometryConfig,
    TrackingConfig,
    TrainingConfig,
    load_config,
    parse_config,
)
from likely.experiment._features import FeaturePipeline
from likely.experiment._pipeline import (
    EvaluationResult,
    TrainResult,
    build_model,
    evaluate,
    find_feature_pipeline,
    input_columns,
    load_table,
    train,
)
from likely.experiment._predict import predict_table, summarize
from likely.experiment._run import RunResult, run_prediction, run_training
from likely.experiment._sweep import (
    DEFAULT_STORAGE,
    PruningCallback,
    SweepResult,
    run_sweep,
    suggest,
)
from likely.experiment._sweep_config import SweepConfig, sweep_from_config
from likely.experiment._training import build_network, compile_model, fit_model

__all__ = [
    "DEFAULT_STORAGE",
    "Config",
    "DataConfig",
    "EarlyStoppingConfig",
    "EvaluationConfig",
    "EvaluationResult",
    "FeaturePipeline",
    "ModelConfig",
    "PhotometryConfig",
    "PruningCallback",
    "RunResult",
    "SweepConfig",
    "SweepResult",
    "TrackingConfig",
    "TrainResult",
    "TrainingConfig",
    "build_model",
    "build_network",
    "compile_model",
    "evaluate",
    "find_feature_pipeline",
    "fit_model",
    "input_columns",
    "load_table",
    "load_config",
    "parse_config",
    "predict_table",
    "run_prediction",
    "run_sweep",
    "run_training",
    "suggest",
    "summarize",
    "sweep_from_config",
    "train",
]
