"""The main job as library functions: train, evaluate and predict from a config.

The CLI commands are thin wrappers over these functions.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pandas as pd

from likely.distributed import distribution_scope
from likely.errors import DataError
from likely.experiment._config import BUILTIN_PREFIX, Config, DataConfig, resolved_training
from likely.experiment._features import (
    FeaturePipeline,
    check_inputs,
    find_feature_pipeline,
    read_limits_from_errors,
    sampling_options,
)
from likely.experiment._fit import FitResult, fit_arrays, input_layers, split_rows
from likely.experiment._shift import (
    find_training_sample_distance,
    shift_plot_error,
    shift_report,
    shift_score,
)
from likely.experiment._training import build_network, fit_rows
from likely.models import Predictive, output_head, predict_distribution


def resolve_table(path: str, format: str | None) -> tuple[Path, str | None]:
    """`dc2:train` / `dc2:validation` name the vendored DC2 files; anything else is a path."""
    if path.startswith(BUILTIN_PREFIX):
        from likely.datasets import dc2_path

        split = path[len(BUILTIN_PREFIX) :]
        try:
            return dc2_path(split), "hdf5"
        except ValueError:
            raise DataError(
                f"unknown built-in table {path!r}; built-ins are dc2:train and dc2:validation"
            ) from None
    return Path(path), format


def input_columns(data: DataConfig) -> list[str]:
    """The raw columns a model trained on `data` reads, in order."""
    columns: list[str] = []
    if data.photometry is not None:
        columns += data.photometry.magnitude_columns() + data.photometry.error_columns()
    columns += [c for c in data.features if c not in columns]
    return columns


def load_table(
    data: DataConfig,
    path: str,
    with_target: bool = True,
    features: FeaturePipeline | None = None,
) -> pd.DataFrame:
    """Reads the columns a run needs, applies the filters and the invalid-value policy.

    Non-detections (NaN or the sentinel) are checked by the photometry of
    `features` (a trained model's, which knows the limiting magnitudes) or,
    without it, of `data.photometry`.
    """
    from likely import io

    table_path, table_format = resolve_table(path, data.format)
    columns = input_columns(data)
    needed = columns + ([data.target] if with_target else [])
    if data.id_column and data.id_column not in needed:
        needed.append(data.id_column)
    frame = io.read_table(table_path, format=table_format, columns=needed)
    return check_table(
        data, frame, source=str(table_path), with_target=with_target, features=features
    )


def check_table(
    data: DataConfig,
    frame: pd.DataFrame,
    source: str = "the data",
    with_target: bool = True,
    hint: str = "`data.invalid_values: drop` in the run's config discards such rows",
    features: FeaturePipeline | None = None,
) -> pd.DataFrame:
    """A table already in memory, checked as `load_table` checks a file's.

    The columns `data` names must be there; the filters and the
    invalid-value policy are applied; `hint` says how to discard rows with
    NaN or infinite values. Non-detections are checked by the photometry of
    `features` (a trained model's) or, without it, of `data.photometry`. The
    RAIL stages train on tables they are handed this way.
    """
    from likely import io

    checked = input_columns(data) + ([data.target] if with_target else [])
    missing = [name for name in checked if name not in frame.columns]
    if missing:
        raise DataError(
            f"Unknown columns {missing} in {source}; available: {sorted(map(str, frame.columns))}"
        )
    if data.filters:
        frame = io.apply_filters(frame, data.filters, source=source)
    photometry = features.photometry if features is not None else _photometry_spec(data)
    frame, _ = check_inputs(
        frame, checked, photometry, policy=data.invalid_values, source=source, hint=hint
    )
    return frame


def _photometry_spec(data: DataConfig) -> dict[str, Any] | None:
    """The non-detection settings of `data.photometry`; limits unknown before training."""
    if data.photometry is None:
        return None
    p = data.photometry
    return {
        "magnitudes": p.magnitude_columns(),
        "errors": p.error_columns(),
        "nondetection_value": p.nondetection_value,
        "limits": None,
    }


def make_feature_pipeline(
    data: DataConfig, frame: pd.DataFrame, seed: int | None = None
) -> FeaturePipeline:
    """The preprocessing layer of a run, with limiting magnitudes read from training data."""
    photometry = None
    if data.photometry is not None:
        p = data.photometry
        limits: dict[str, float] = {}
        for band, mag, err in zip(p.bands, p.magnitude_columns(), p.error_columns(), strict=True):
            if band in p.limits:
                limits[mag] = float(p.limits[band])
                continue
            limit = read_limits_from_errors(
                frame[mag].to_numpy(float), frame[err].to_numpy(float), p.nondetection_value, mag
            )
            if limit is not None:
                limits[mag] = limit
        photometry = {
            "magnitudes": p.magnitude_columns(),
            "errors": p.error_columns(),
            "reference": p.bands.index(p.reference_band),
            "nondetection_value": p.nondetection_value,
            "limits": limits,
            "convolve_errors": p.convolve_errors,
            "error_samples": p.error_samples,
        }
    return FeaturePipeline(
        input_columns(data),
        photometry=photometry,
        target=data.target,
        id_column=data.id_column,
        seed=seed,
        name="features",
    )


def build_model(config: Config, frame: pd.DataFrame) -> keras.Model:
    """Preprocessing (features + standardization, adapted on `frame`) and the network.

    With `data.shift_score.enabled`, a `TrainingSampleDistance` layer after the
    standardization keeps a reference sample of the training features (see
    `likely.experiment.shift_score`); with `model.input_clip_margin` set, the
    standardized inputs are clipped to the training range (`likely.layers.ClipToRange`).
    """
    seed = config.training.seed
    features = make_feature_pipeline(config.data, frame, seed=seed)
    x = frame[features.input_columns].to_numpy(dtype="float32")
    values = features.transform(x)  # catalogue values, no draws
    preprocessing = [features, *input_layers(config.model, values, config.data.shift_score, seed)]
    return build_network(
        config.model,
        input_dim=x.shape[1],
        preprocessing=preprocessing,
        n_train=fit_rows(len(frame), config.data.validation_fraction),
        seed=config.training.seed,
        targets=frame[config.data.target].to_numpy(dtype=float),
    )


@dataclasses.dataclass
class TrainResult:
    """What `train` produced."""

    model: keras.Model
    history: dict[str, list[float]]
    report: dict[str, float] | None
    predictive: Predictive | None
    y_test: np.ndarray | None
    files: list[Path]
    fit: FitResult | None = None


def train(
    config: Config,
    output_dir: str | Path,
    callbacks: list[keras.callbacks.Callback] | None = None,
    progress: bool = True,
) -> TrainResult:
    """Trains the configured model, evaluates it on `data.test` and saves it.

    Args:
        config: A validated `Config`.
        output_dir: Folder for `model.keras`, the plots and the report.
        callbacks: Extra Keras callbacks (tracking, checkpointing).
        progress: Show a progress bar.
    """
    output_dir = Path(output_dir)
    frame = load_table(config.data, config.data.train)  # bad input fails before any work
    fitted = fit_table(config, frame, callbacks=callbacks, progress=progress)
    model = fitted.model
    output_dir.mkdir(parents=True, exist_ok=True)
    model_path = output_dir / "model.keras"
    model.save(model_path)
    files = [model_path]
    report = predictive = y_test = None
    if config.data.test is not None:
        evaluation = evaluate(model, config.data.test, config=config, output_dir=output_dir)
        report, predictive, y_test = evaluation.report, evaluation.predictive, evaluation.y_true
        files += evaluation.files
    return TrainResult(
        model=model,
        history=fitted.history,
        report=report,
        predictive=predictive,
        y_test=y_test,
        files=files,
        fit=fitted,
    )


def fit_table(
    config: Config,
    frame: pd.DataFrame,
    callbacks: list[keras.callbacks.Callback] | None = None,
    progress: bool = True,
) -> FitResult:
    """Builds, preprocesses and fits the configured model on a checked training table.

    The core of `train` (which reads `data.train`, then saves and evaluates):
    the run's `FeaturePipeline` and `fit_arrays`. The RAIL informer calls it
    on the table RAIL gives it.

    Returns:
        The `FitResult` (`.model`, `.history`, ...).
    """
    n_fit = len(split_rows(len(frame), config.data.validation_fraction, seed=0).fit)
    training = resolved_training(config.training, n_fit)
    with distribution_scope(training.devices, training.batch_size):
        return fit_arrays(
            config.model,
            training,
            frame[input_columns(config.data)].to_numpy(dtype="float32"),
            frame[config.data.target].to_numpy(dtype="float32"),
            validation_fraction=config.data.validation_fraction,
            recalibrate=config.evaluation.recalibrate,
            preprocessing=[make_feature_pipeline(config.data, frame, seed=config.training.seed)],
            shift_score=config.data.shift_score,
            callbacks=callbacks,
            progress="training" if progress else None,
        )


@dataclasses.dataclass
class EvaluationResult:
    report: dict[str, float]
    predictive: Predictive
    y_true: np.ndarray
    files: list[Path]
    shift_score: np.ndarray | None = None


def model_data_config(model: keras.Model, config: Config | None) -> DataConfig:
    """The data settings to read new tables for `model`: from the config, else the model."""
    if config is not None:
        return config.data
    features = find_feature_pipeline(model)
    if features is None:
        raise DataError(
            "this model carries no FeaturePipeline (it was not trained by likely train); "
            "pass a config to say which columns it reads"
        )
    return DataConfig(
        train="",
        features=features.input_columns,
        target=features.target or "",
        id_column=features.id_column,
    )


def evaluate(
    model: keras.Model,
    data_path: str,
    config: Config | None = None,
    output_dir: str | Path | None = None,
    kind: str | None = None,
) -> EvaluationResult:
    """Scores `model` on a table with the target column; writes plots when `output_dir` is set."""
    from likely.metrics import report as metrics_report

    data = model_data_config(model, config)
    check_model_columns(model, data)
    frame = load_table(data, data_path, with_target=True, features=find_feature_pipeline(model))
    x = frame[input_columns(data)].to_numpy(dtype="float32")
    y = frame[data.target].to_numpy(dtype=float)
    predictive = predict_distribution(model, x, **sampling_options(model))
    kind = kind or (config.evaluation.kind if config is not None else "regression")
    report = metrics_report(y, predictive, kind=kind)
    if getattr(output_head(model), "recalibration", None) and predictive.event_shape == ():
        from likely import metrics

        raw = predict_distribution(model, x, recalibrated=False, **sampling_options(model))
        report["raw_pit_ks"] = float(metrics.pit_ks(y, raw))
        report["raw_coverage_68"] = float(metrics.coverage(y, raw, 0.68))
        report["raw_coverage_95"] = float(metrics.coverage(y, raw, 0.95))
    score = None
    if find_training_sample_distance(model) is not None:
        score = shift_score(model, x)
        report.update(shift_report(y, predictive, score, kind=kind))
    files: list[Path] = []
    if output_dir is not None and (config is None or config.evaluation.plots):
        files = write_evaluation_plots(predictive, y, Path(output_dir), kind=kind, shift=score)
    return EvaluationResult(
        report=report, predictive=predictive, y_true=y, files=files, shift_score=score
    )


def check_model_columns(model: keras.Model, data: DataConfig) -> None:
    """The table columns named by `data` must be those the model was trained on."""
    features = find_feature_pipeline(model)
    if features is not None and features.input_columns != input_columns(data):
        raise DataError(
            f"feature mismatch: the model reads columns {features.input_columns}, "
            f"the config names {input_columns(data)}"
        )


def write_evaluation_plots(
    predictive: Predictive,
    y_true: np.ndarray,
    output_dir: Path,
    kind: str,
    shift: np.ndarray | None = None,
) -> list[Path]:
    """PIT histogram, reliability diagram, for photo-z the z-z plot and example PDFs.

    With `shift` (the covariate-shift scores), also `shift_score.png`: each
    object's error against its score.
    """
    from matplotlib.figure import Figure

    from likely import plots

    output_dir.mkdir(parents=True, exist_ok=True)
    drawings: dict[str, Any] = {
        "pit_histogram.png": lambda ax: plots.plot_pit_histogram(y_true, predictive, ax=ax),
        "reliability.png": lambda ax: plots.plot_reliability(y_true, predictive, ax=ax),
    }
    if kind == "photoz":
        drawings["zz.png"] = lambda ax: plots.plot_zz(y_true, predictive, ax=ax)
    if shift is not None:
        error, label = shift_plot_error(y_true, predictive, kind)
        drawings["shift_score.png"] = lambda ax: plots.plot_shift_score(
            shift, error, error_label=label, ax=ax
        )
    files = []
    for name, draw in drawings.items():
        fig = Figure(figsize=(5.5, 4.5), layout="constrained")
        draw(fig.subplots())
        fig.savefig(output_dir / name, dpi=120)
        files.append(output_dir / name)
    if kind == "photoz":
        fig = Figure(figsize=(7.2, 5.7), layout="constrained")  # readable at ~700 px
        plots.plot_pdf_grid(y_true, predictive, fig=fig)
        fig.savefig(output_dir / "pdfs.png", dpi=110)
        files.append(output_dir / "pdfs.png")
    return files
