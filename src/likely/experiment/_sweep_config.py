"""The YAML file of `likely sweep`: data, a mixture density MLP, training, search space, storage.

A small config of its own, until the main job's config exists; the engine
(`run_sweep`) only needs a `train_trial(trial, callbacks)` function, which
`sweep_from_config` builds from this file. Example file:

    data: {dataset: d2, n: 300, seed: 0}       # or {csv: data.csv, features: [x], target: y}
    model: {hidden_units: 32, hidden_layers: 2, activation: relu, head: mixture, components: 3}
    training: {epochs: 30, batch_size: 32, learning_rate: 0.01, validation_split: 0.2, seed: 0}
    sweep:
      study_name: d2-mdn
      storage: sqlite:///likely-sweeps.db
      direction: minimize
      space:
        training.learning_rate: {type: float, low: 0.001, high: 0.05, log: true}
        model.components: {type: int, low: 1, high: 5}
    tracking: {experiment: d2-sweep}
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import keras
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from likely.experiment._sweep import SweepResult, run_sweep, suggest


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataSection(_Section):
    dataset: Literal["d1", "d2", "d3", "tfp"] | None = "d2"
    n: int = Field(200, ge=10)
    seed: int = 0
    csv: Path | None = None
    features: list[str] | None = None
    target: str | None = None

    @model_validator(mode="after")
    def _csv_needs_columns(self) -> DataSection:
        if self.csv is not None and (not self.features or not self.target):
            raise ValueError("data.csv needs data.features (a list of columns) and data.target")
        return self


class ModelSection(_Section):
    hidden_units: int = Field(32, ge=1)
    hidden_layers: int = Field(2, ge=0)
    activation: str = "relu"
    head: Literal["normal", "mixture"] = "mixture"
    components: int = Field(3, ge=1)


class TrainingSection(_Section):
    epochs: int = Field(30, ge=1)
    batch_size: int = Field(32, ge=1)
    learning_rate: float = Field(0.01, gt=0)
    validation_split: float = Field(0.2, gt=0, lt=1)
    seed: int = 0


class SearchParam(_Section):
    type: Literal["float", "int", "categorical"]
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: list[Any] | None = None

    @model_validator(mode="after")
    def _bounds(self) -> SearchParam:
        if self.type == "categorical" and not self.choices:
            raise ValueError("a categorical search parameter needs `choices`")
        if self.type != "categorical" and (self.low is None or self.high is None):
            raise ValueError(f"a {self.type} search parameter needs `low` and `high`")
        return self

    def spec(self) -> dict[str, Any]:
        spec = self.model_dump(exclude_none=True)
        if self.type == "int":
            spec.update(low=int(self.low), high=int(self.high))
            if self.step is not None:
                spec["step"] = int(self.step)
        return spec


class SweepSection(_Section):
    space: dict[str, SearchParam]
    study_name: str = "likely-sweep"
    storage: str | None = None
    direction: Literal["minimize", "maximize"] = "minimize"
    metric: str = "val_loss"
    sampler_seed: int | None = None

    @model_validator(mode="after")
    def _known_keys(self) -> SweepSection:
        for key in self.space:
            section, _, field = key.partition(".")
            fields = {"model": ModelSection, "training": TrainingSection}.get(section)
            if fields is None or field not in fields.model_fields:
                raise ValueError(
                    f"sweep.space key {key!r} must name a model.* or training.* setting"
                )
        return self


class TrackingSection(_Section):
    experiment: str | None = "likely-sweep"
    enabled: bool | None = None
    log_models: bool = False


class SweepConfig(_Section):
    """A `likely sweep` file (see the module docstring for an example)."""

    data: DataSection = DataSection()
    model: ModelSection = ModelSection()
    training: TrainingSection = TrainingSection()
    sweep: SweepSection
    tracking: TrackingSection = TrackingSection()

    @classmethod
    def from_yaml(cls, path: str | os.PathLike) -> SweepConfig:
        import yaml

        path = Path(path)
        if not path.is_file():
            raise ValueError(f"Argument `path` must be a YAML file. Received: {str(path)!r}")
        raw = yaml.safe_load(path.read_text()) or {}
        config = cls.model_validate(raw)
        if config.data.csv is not None and not config.data.csv.is_absolute():
            config.data.csv = (path.parent / config.data.csv).resolve()
        return config


def load_data(data: DataSection) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Training arrays `(x, y, feature_names)` of a data section."""
    if data.csv is not None:
        import pandas as pd

        frame = pd.read_csv(data.csv)
        x = frame[data.features].to_numpy(np.float32)
        return x, frame[data.target].to_numpy(np.float32), list(data.features)
    from likely import datasets

    if data.dataset == "tfp":
        x, y, _ = datasets.make_tfp_regression(n=data.n, seed=data.seed)
    else:
        x, y = getattr(datasets, f"make_{data.dataset}")(n=data.n, seed=data.seed)
    return x.astype(np.float32), y.astype(np.float32), ["x"]


def build_sweep_model(model: ModelSection, n_features: int, learning_rate: float) -> keras.Model:
    """An MLP ending in a likely head, compiled with Adam and the NLL."""
    from likely import layers, losses

    stack: list[Any] = [keras.Input((n_features,))]
    for _ in range(model.hidden_layers):
        stack.append(keras.layers.Dense(model.hidden_units, activation=model.activation))
    if model.head == "mixture":
        stack += [
            keras.layers.Dense(layers.MixtureNormal.params_size(model.components, 1)),
            layers.MixtureNormal(model.components, 1),
        ]
    else:
        stack += [
            keras.layers.Dense(layers.IndependentNormal.params_size(1)),
            layers.IndependentNormal(1),
        ]
    network = keras.Sequential(stack)
    network.compile(keras.optimizers.Adam(learning_rate), losses.nll)
    return network


def _with_params(config: SweepConfig, params: dict[str, Any]) -> SweepConfig:
    update: dict[str, dict[str, Any]] = {}
    for key, value in params.items():
        section, _, field = key.partition(".")
        update.setdefault(section, {})[field] = value
    return config.model_copy(
        update={
            name: getattr(config, name).model_copy(update=fields) for name, fields in update.items()
        }
    )


def sweep_from_config(
    config: SweepConfig | str | os.PathLike,
    n_trials: int,
    *,
    storage: str | None = None,
    study_name: str | None = None,
    tracking: bool | None = None,
) -> SweepResult:
    """Runs `n_trials` trials of the sweep a config describes (arguments override the file).

    The objective is the best (lowest for `minimize`) value of `sweep.metric`
    over the epochs of a trial.

    Example:
        >>> import os, tempfile
        >>> from likely.experiment import SweepConfig, sweep_from_config
        >>> config = SweepConfig.model_validate({
        ...     "data": {"dataset": "d1", "n": 40}, "training": {"epochs": 2},
        ...     "model": {"hidden_layers": 1, "hidden_units": 4, "components": 1},
        ...     "sweep": {"space": {"training.learning_rate":
        ...         {"type": "float", "low": 0.001, "high": 0.01}}}})
        >>> db = "sqlite:///" + os.path.join(tempfile.mkdtemp(), "s.db")
        >>> sweep_from_config(config, 1, storage=db, tracking=False).n_trials
        1
    """
    if not isinstance(config, SweepConfig):
        config = SweepConfig.from_yaml(config)
    x, y, feature_names = load_data(config.data)
    space = {key: param.spec() for key, param in config.sweep.space.items()}
    pick = min if config.sweep.direction == "minimize" else max

    def train_trial(trial: Any, callbacks: list[keras.callbacks.Callback]) -> float:
        trial_config = _with_params(config, suggest(trial, space))
        training = trial_config.training
        keras.utils.set_random_seed(training.seed)
        network = build_sweep_model(trial_config.model, x.shape[1], training.learning_rate)
        for callback in callbacks:
            if hasattr(callback, "feature_names") and callback.feature_names is None:
                callback.feature_names = feature_names
        history = network.fit(
            x,
            y,
            epochs=training.epochs,
            batch_size=training.batch_size,
            validation_split=training.validation_split,
            callbacks=callbacks,
            verbose=0,
        )
        values = [v for v in history.history[config.sweep.metric] if np.isfinite(v)]
        if not values:
            raise ValueError(f"Trial {trial.number} produced no finite {config.sweep.metric}.")
        return float(pick(values))

    return run_sweep(
        train_trial,
        n_trials,
        study_name=study_name or config.sweep.study_name,
        storage=storage or config.sweep.storage,
        direction=config.sweep.direction,
        monitor=config.sweep.metric,
        sampler_seed=config.sweep.sampler_seed,
        experiment=config.tracking.experiment,
        tracking=tracking if tracking is not None else config.tracking.enabled,
        log_models=config.tracking.log_models,
        settings={"data": config.data.dataset or str(config.data.csv), "space": space},
    )
