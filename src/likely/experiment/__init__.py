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
    ShiftScoreConfig,
    TrackingConfig,
    TrainingConfig,
    format_validation_error,
    load_config,
    parse_config,
)
from likely.experiment._features import FeaturePipeline, check_inputs, sampling_options
from likely.experiment._fit import FitResult, fit_arrays
from likely.experiment._pipeline import (
    EvaluationResult,
    TrainResult,
    build_model,
    check_table,
    evaluate,
    find_feature_pipeline,
    fit_table,
    input_columns,
    load_table,
    make_feature_pipeline,
    train,
)
from likely.experiment._predict import predict_frame, predict_table, summarize
from likely.experiment._qp_evaluation import evaluate_qp
from likely.experiment._run import (
    RunResult,
    check_output_folder,
    load_trained_model,
    new_run_folder,
    run_prediction,
    run_training,
)
from likely.experiment._shift import (
    TrainingSampleDistance,
    shift_columns,
    shift_report,
    shift_score,
)
from likely.experiment._sweep import (
    DEFAULT_STORAGE,
    PruningCallback,
    SweepResult,
    run_sweep,
    suggest,
)
from likely.experiment._sweep_config import (
    SearchSpace,
    StudyConfig,
    SweepConfig,
    load_sweep_config,
    parse_sweep_config,
)
from likely.experiment._sweep_job import held_out_nll, sweep_from_config
from likely.experiment._training import build_network, compile_model, fit_model

__all__ = [
    "DEFAULT_STORAGE",
    "Config",
    "DataConfig",
    "EarlyStoppingConfig",
    "EvaluationConfig",
    "EvaluationResult",
    "FitResult",
    "FeaturePipeline",
    "ModelConfig",
    "PhotometryConfig",
    "ShiftScoreConfig",
    "PruningCallback",
    "RunResult",
    "SearchSpace",
    "StudyConfig",
    "SweepConfig",
    "SweepResult",
    "TrackingConfig",
    "TrainResult",
    "TrainingSampleDistance",
    "TrainingConfig",
    "build_model",
    "build_network",
    "check_inputs",
    "check_output_folder",
    "check_table",
    "compile_model",
    "evaluate",
    "evaluate_qp",
    "fit_arrays",
    "format_validation_error",
    "find_feature_pipeline",
    "fit_table",
    "fit_model",
    "held_out_nll",
    "input_columns",
    "load_table",
    "load_config",
    "load_sweep_config",
    "load_trained_model",
    "make_feature_pipeline",
    "new_run_folder",
    "parse_config",
    "parse_sweep_config",
    "predict_frame",
    "predict_table",
    "run_prediction",
    "run_sweep",
    "run_training",
    "sampling_options",
    "shift_columns",
    "shift_report",
    "shift_score",
    "suggest",
    "summarize",
    "sweep_from_config",
    "train",
]
