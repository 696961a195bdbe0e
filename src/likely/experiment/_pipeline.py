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

from likely.distributed._parallel import distribution_scope
from likely.errors import DataError
from likely.experiment._config import BUILTIN_PREFIX, Config, DataConfig
from likely.experiment._features import FeaturePipeline, read_limits_from_errors
from likely.experiment._training import build_network, compile_model, fit_model, steps_per_epoch
from likely.models import Predictive, predict_distribution


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


def load_table(data: DataConfig, path: str, with_target: bool = True) -> pd.DataFrame:
    """Reads the columns a run needs, applies the filters and the invalid-value policy."""
    from likely import io

    table_path, table_format = resolve_table(path, data.format)
    features = input_columns(data)
    needed = features + ([data.target] if with_target else [])
    if data.id_column and data.id_column not in needed:
        needed.append(data.id_column)
    frame = io.read_table(table_path, format=table_format, columns=needed)
    if data.filters:
        frame = io.apply_filters(frame, data.filters, source=str(table_path))
    checked = features + ([data.target] if with_target else [])
    frame, _ = io.check_values(frame, checked, policy=data.invalid_values, source=str(table_path))
    return frame


def make_feature_pipeline(data: DataConfig, frame: pd.DataFrame) -> FeaturePipeline:
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
        }
    return FeaturePipeline(
        input_columns(data),
        photometry=photometry,
        target=data.target,
        id_column=data.id_column,
        name="features",
    )


def find_feature_pipeline(model: keras.Model) -> FeaturePipeline | None:
    """The `FeaturePipeline` inside a model built by `likely train`, if any."""
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, FeaturePipeline):
            return layer
    return None


def build_model(config: Config, frame: pd.DataFrame) -> keras.Model:
    """Preprocessing (features + standardization, adapted on `frame`) and the network."""
    features = make_feature_pipeline(config.data, frame)
    x = frame[features.input_columns].to_numpy(dtype="float32")
    normalization = keras.layers.Normalization(name="standardize")
    normalization.adapt(keras.ops.convert_to_numpy(features(x)))
    return build_network(
        config.model,
        input_dim=x.shape[1],
        preprocessing=[features, normalization],
        n_train=len(frame),
        seed=config.training.seed,
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
    keras.utils.set_random_seed(config.training.seed)
    with distribution_scope(config.training.devices, config.training.batch_size):
        model = build_model(config, frame)
        x = frame[input_columns(config.data)].to_numpy(dtype="float32")
        y = frame[config.data.target].to_numpy(dtype="float32")
        steps = steps_per_epoch(len(x), config.training, config.data.validation_fraction)
        compile_model(model, config.training, steps)
        history = fit_model(
            model,
            x,
            y,
            config.training,
            config.data.validation_fraction,
            callbacks=callbacks,
            progress="training" if progress else None,
        )
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
        history={k: [float(v) for v in vs] for k, vs in history.history.items()},
        report=report,
        predictive=predictive,
        y_test=y_test,
        files=files,
    )


@dataclasses.dataclass
class EvaluationResult:
    report: dict[str, float]
    predictive: Predictive
    y_true: np.ndarray
    files: list[Path]


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
    frame = load_table(data, data_path, with_target=True)
    x = frame[input_columns(data)].to_numpy(dtype="float32")
    y = frame[data.target].to_numpy(dtype=float)
    predictive = predict_distribution(model, x)
    kind = kind or (config.evaluation.kind if config is not None else "regression")
    report = metrics_report(y, predictive, kind=kind)
    files: list[Path] = []
    if output_dir is not None and (config is None or config.evaluation.plots):
        files = write_evaluation_plots(predictive, y, Path(output_dir), kind=kind)
    return EvaluationResult(report=report, predictive=predictive, y_true=y, files=files)


def check_model_columns(model: keras.Model, data: DataConfig) -> None:
    """The table columns named by `data` must be those the model was trained on."""
    features = find_feature_pipeline(model)
    if features is not None and features.input_columns != input_columns(data):
        raise DataError(
            f"feature mismatch: the model reads columns {features.input_columns}, "
            f"the config names {input_columns(data)}"
        )


def write_evaluation_plots(
    predictive: Predictive, y_true: np.ndarray, output_dir: Path, kind: str
) -> list[Path]:
    """PIT histogram, reliability diagram and, for photo-z, the z-z plot and example PDFs."""
    from matplotlib.figure import Figure

    from likely import plots

    output_dir.mkdir(parents=True, exist_ok=True)
    drawings: dict[str, Any] = {
        "pit_histogram.png": lambda ax: plots.plot_pit_histogram(y_true, predictive, ax=ax),
        "reliability.png": lambda ax: plots.plot_reliability(y_true, predictive, ax=ax),
    }
    if kind == "photoz":
        drawings["zz.png"] = lambda ax: plots.plot_zz(y_true, predictive, ax=ax)
    files = []
    for name, draw in drawings.items():
        fig = Figure(figsize=(5.5, 4.5), layout="constrained")
        draw(fig.subplots())
        fig.savefig(output_dir / name, dpi=120)
        files.append(output_dir / name)
    if kind == "photoz":
        fig = Figure(figsize=(9, 8), layout="constrained")
        plots.plot_pdf_grid(y_true, predictive, fig=fig)
        fig.savefig(output_dir / "pdfs.png", dpi=110)
        files.append(output_dir / "pdfs.png")
    return files
