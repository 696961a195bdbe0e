"""likely models as MLflow models: the `.keras` file plus a pyfunc returning distribution summaries.

Imported lazily (it imports MLflow): `likely.tracking` reaches it only when a
model is logged, saved or loaded.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import logging
import os
import platform
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import keras
import mlflow
import numpy as np
import pandas as pd
from mlflow.models import Model, ModelSignature
from mlflow.types import ColSpec, Schema

from likely.tracking._store import DEFAULT_QUANTILE_LEVELS

MODEL_NAME = "model"
KERAS_ARTIFACT = "keras_model"
KERAS_FILE = "model.keras"


def quantile_column(level: float) -> str:
    """Column name of a quantile: 0.05 -> `q5`, 0.5 -> `q50`, 0.025 -> `q2.5`."""
    return f"q{100 * level:.6g}"


def summary_frame(predictive: Any, levels: Sequence[float]) -> pd.DataFrame:
    """`Predictive.summary` as a DataFrame, one row per object (quantiles named `q5`, ...)."""
    return pd.DataFrame(predictive.summary(levels, quantile_name=quantile_column))


class DistributionModel(mlflow.pyfunc.PythonModel):
    """MLflow pyfunc over a likely Keras model: `predict(DataFrame)` -> distribution summaries.

    Args:
        feature_names: Input columns, in the order the network takes them.
        quantile_levels: Quantiles returned beside `mean` and `std`.
        batch_size: Prediction batch size (likely's default when None).

    Example:
        >>> from likely.tracking._model import DistributionModel
        >>> DistributionModel(["x0"], (0.5,)).feature_names
        ['x0']
    """

    # MLflow would wrap `predict` to validate type hints; the signature is explicit instead.
    _skip_type_hint_validation = True

    def __init__(
        self,
        feature_names: Sequence[str],
        quantile_levels: Sequence[float] = DEFAULT_QUANTILE_LEVELS,
        batch_size: int | None = None,
    ) -> None:
        self.feature_names = [str(name) for name in feature_names]
        self.quantile_levels = tuple(float(q) for q in quantile_levels)
        self.batch_size = batch_size
        self.model: keras.Model | None = None

    def load_context(self, context: Any) -> None:
        self.model = keras.saving.load_model(context.artifacts[KERAS_ARTIFACT], compile=False)

    def predict(self, context, model_input, params=None):  # noqa: ANN001, ANN201
        import likely

        if isinstance(model_input, pd.DataFrame):
            missing = [c for c in self.feature_names if c not in model_input.columns]
            if missing:
                raise ValueError(
                    f"Input is missing the feature columns {missing}. Expected columns: "
                    f"{self.feature_names}. Received: {list(model_input.columns)}."
                )
            x = model_input[self.feature_names].to_numpy(dtype=np.float32)
        else:
            x = np.asarray(model_input, dtype=np.float32).reshape(-1, len(self.feature_names))
        predictive = likely.predict_distribution(self.model, x, batch_size=self.batch_size)
        return summary_frame(predictive, self.quantile_levels)


def feature_names_for(model: keras.Model, feature_names: Sequence[str] | None) -> list[str]:
    """Feature names for a single-input model with inputs of shape (batch, d)."""
    shape = tuple(model.inputs[0].shape) if getattr(model, "inputs", None) else None
    if shape is None or len(model.inputs) != 1 or len(shape) != 2 or shape[1] is None:
        raise ValueError(
            "Logging a likely model as an MLflow pyfunc needs one input of shape (batch, d). "
            f"Received a model with input shapes {[tuple(i.shape) for i in model.inputs]}."
        )
    width = int(shape[1])
    if feature_names is None:
        return [f"x{i}" for i in range(width)]
    names = [str(n) for n in feature_names]
    if len(names) != width:
        raise ValueError(
            f"Argument `feature_names` must have one name per input column ({width}). "
            f"Received {len(names)} names: {names}."
        )
    return names


def _signature(model: keras.Model, example: pd.DataFrame, levels: Sequence[float]) -> Any:
    """Inputs: the feature columns; outputs: the summary columns of this model's head."""
    import likely

    x = example.to_numpy(dtype=np.float32)
    predict = {"n_samples": 2, "seed": 0} if likely.models.is_stochastic(model) else {}
    outputs = summary_frame(likely.predict_distribution(model, x, **predict), levels)
    return ModelSignature(
        inputs=Schema([ColSpec("double", name) for name in example.columns]),
        outputs=Schema([ColSpec("double", name) for name in outputs.columns]),
    )


def _input_example(x: Any, feature_names: Sequence[str]) -> pd.DataFrame:
    if x is None:
        return pd.DataFrame(np.zeros((2, len(feature_names))), columns=list(feature_names))
    rows = np.asarray(x, dtype=np.float64)[:5].reshape(-1, len(feature_names))
    return pd.DataFrame(rows, columns=list(feature_names))


def pip_requirements() -> list[str]:
    """What serving a likely model needs: likely, Keras, the backend, and the data stack."""
    backend = keras.backend.backend()
    packages = ["keras", "numpy", "pandas", "scipy", "mlflow"]
    packages += {"jax": ["jax"], "torch": ["torch"], "tensorflow": ["tensorflow"]}.get(backend, [])
    requirements = []
    for name in ["likely", *packages]:
        try:
            requirements.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            requirements.append(name)
    return requirements


def _model_kwargs(
    keras_file: str,
    model: keras.Model,
    feature_names: Sequence[str] | None,
    quantile_levels: Sequence[float],
    input_example: Any,
) -> dict[str, Any]:
    names = feature_names_for(model, feature_names)
    levels = tuple(float(q) for q in quantile_levels)
    example = _input_example(input_example, names)
    return {
        "python_model": DistributionModel(names, levels),
        "artifacts": {KERAS_ARTIFACT: keras_file},
        "signature": _signature(model, example, levels),
        "input_example": example,
        "pip_requirements": pip_requirements(),
        "metadata": {
            "likely_keras_file": f"artifacts/{KERAS_FILE}",
            "python": platform.python_version(),
        },
    }


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Hides MLflow's advice (type hints, models-from-code), which does not apply here."""
    pyfunc_logger = logging.getLogger("mlflow.pyfunc")
    level = pyfunc_logger.level
    pyfunc_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*type hint")
            warnings.filterwarnings("ignore", category=FutureWarning, module="mlflow")
            yield
    finally:
        pyfunc_logger.setLevel(level)


def log_model(
    run_id: str,
    model: keras.Model,
    *,
    feature_names: Sequence[str] | None = None,
    quantile_levels: Sequence[float] = DEFAULT_QUANTILE_LEVELS,
    input_example: Any = None,
    registered_model_name: str | None = None,
) -> Any:
    """Logs `model` to run `run_id` as the MLflow model `model`; returns MLflow's ModelInfo."""
    client = mlflow.MlflowClient()
    run = client.get_run(run_id)
    # Created here so that it lands in the run's experiment (MLflow would use the
    # current experiment), where `runs:/<run_id>/model` looks for it.
    logged = client.create_logged_model(
        experiment_id=run.info.experiment_id,
        name=MODEL_NAME,
        source_run_id=run_id,
        params=dict(run.data.params),
        tags={"likely.kind": "distribution"},
    )
    with tempfile.TemporaryDirectory() as tmp:
        keras_file = os.path.join(tmp, KERAS_FILE)
        model.save(keras_file)
        with _quiet():
            return Model.log(
                artifact_path=None,
                name=MODEL_NAME,
                flavor=mlflow.pyfunc,
                run_id=run_id,
                model_id=logged.model_id,
                registered_model_name=registered_model_name,
                **_model_kwargs(keras_file, model, feature_names, quantile_levels, input_example),
            )


def save_model(
    path: str | os.PathLike,
    model: keras.Model,
    *,
    feature_names: Sequence[str] | None = None,
    quantile_levels: Sequence[float] = DEFAULT_QUANTILE_LEVELS,
    input_example: Any = None,
) -> Path:
    """Writes `model` as an MLflow model folder at `path` (no tracker needed); returns the path."""
    with tempfile.TemporaryDirectory() as tmp:
        keras_file = os.path.join(tmp, KERAS_FILE)
        model.save(keras_file)
        with _quiet():
            mlflow.pyfunc.save_model(
                path=str(path),
                **_model_kwargs(keras_file, model, feature_names, quantile_levels, input_example),
            )
    return Path(path)


def _keras_file_in(folder: Path) -> Path:
    candidates = sorted(folder.rglob("*.keras"))
    if not candidates:
        raise ValueError(f"No `.keras` file in the MLflow model at {str(folder)!r}.")
    return candidates[0]


def log_saved_model(run_id: str, folder: str | os.PathLike) -> Any:
    """Logs a model folder written by `save_model` to run `run_id`, as the MLflow model `model`."""
    folder = Path(folder)
    wrapper = mlflow.pyfunc.load_model(str(folder)).unwrap_python_model()
    keras_model = keras.saving.load_model(_keras_file_in(folder), compile=False)
    example = Model.load(str(folder)).load_input_example(str(folder))
    return log_model(
        run_id,
        keras_model,
        feature_names=wrapper.feature_names,
        quantile_levels=wrapper.quantile_levels,
        input_example=example,
    )


def load_model(model_uri: str | os.PathLike, compile: bool = True) -> keras.Model:
    """Loads the Keras model of a logged likely model.

    Args:
        model_uri: `runs:/<run_id>/model`, `models:/<name>@<alias>`,
            `models:/<name>/<version>`, `models:/<model_id>`, or a local MLflow
            model folder (such as a fallback record's `artifacts/model`).
        compile: Restore the optimizer and loss too (as `keras.saving.load_model`).

    Returns:
        The `keras.Model`, with likely's layers.

    Example:
        >>> import likely
        >>> callable(likely.load_model)
        True
    """
    if isinstance(model_uri, os.PathLike) or os.path.isdir(str(model_uri)):
        return keras.saving.load_model(_keras_file_in(Path(model_uri)), compile=compile)
    if not isinstance(model_uri, str):
        raise TypeError(
            "Argument `model_uri` must be a string or a path. "
            f"Received: {type(model_uri).__name__}."
        )
    from likely.tracking._store import bounded_http

    with bounded_http(), tempfile.TemporaryDirectory() as tmp:
        local = mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=tmp)
        return keras.saving.load_model(_keras_file_in(Path(local)), compile=compile)


def register_model(
    run_id_or_uri: str, name: str, alias: str | None = None, model_name: str = MODEL_NAME
) -> Any:
    """Registers a logged model under `name` (and points `alias` at the new version).

    Args:
        run_id_or_uri: A run id (its model `model` is registered) or a model URI.
        name: Registered model name.
        alias: Optional alias for the new version, e.g. `"champion"`.
        model_name: Name of the model inside the run.

    Returns:
        MLflow's `ModelVersion`.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"Argument `name` must be a non-empty string. Received: {name!r}")
    uri = run_id_or_uri if ":/" in run_id_or_uri else f"runs:/{run_id_or_uri}/{model_name}"
    from likely.tracking._store import bounded_http

    with bounded_http(), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        version = mlflow.register_model(uri, name)
        if alias:
            mlflow.MlflowClient().set_registered_model_alias(name, alias, version.version)
    return version
