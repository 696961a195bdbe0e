"""Keras callbacks of likely: `MlflowLogger` tracks a training run in MLflow."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np

from likely.tracking._store import DEFAULT_QUANTILE_LEVELS


class MlflowLogger(keras.callbacks.Callback):
    """Logs a `fit` to MLflow: params, per-epoch metrics, plots, config, data fingerprint, model.

    Params: the architecture (layers, units, activations, head and its
    components, every likely layer's settings such as ensemble size or
    variational priors), optimizer and learning rate, loss, batch size,
    epochs, seed, Keras backend and library versions. Metrics: everything
    Keras reports each epoch (`loss`, `val_loss`, compiled metrics), with
    `step=epoch`. Artifacts: `plots/loss_curve.png` (and
    `plots/predictive.png` for one input feature), `config.yaml`,
    `data/fingerprint.json` (shape, dtype and SHA-256 of the training data),
    `model_summary.txt`. The model: an MLflow model `model` holding the
    `.keras` file and a pyfunc whose `predict(DataFrame)` returns the
    predictive mean, standard deviation and quantiles.

    Where it logs: the run of an enclosing `likely.tracking.start_run` block,
    else MLflow's active run, else a new run that it ends itself (FINISHED;
    a `fit` that dies leaves it to likely's exit hooks or the next `fit`,
    which end it FAILED or, after Ctrl-C/SIGTERM, KILLED). If the tracker
    fails, training goes on and the run is kept in a local fallback folder
    (one `likely.tracking.TrackingWarning` names it).

    Put it last in `callbacks`: Keras calls `on_train_end` in list order, and
    the model it logs should be the final one (after `EarlyStopping` restored
    the best weights, for instance).

    Args:
        experiment: Experiment name for a run it starts (created if needed).
        run_name: Name of a run it starts.
        data: `(x, y)` training arrays, for the fingerprint, the input example
            and the prediction plot; by default read from the running `fit`.
        feature_names: Input column names of the pyfunc model; default
            DataFrame columns of `x`, else `x0, x1, ...`.
        batch_size: Logged batch size; by default read from the running `fit`.
        seed: Logged seed; default the one given to `keras.utils.set_random_seed`.
        config: Extra settings to log as params and in `config.yaml`.
        tags: Extra run tags.
        log_model: Log the trained model (default True).
        quantile_levels: Quantiles returned by the pyfunc model.
        registered_model_name: Also register the model under this name.
        fallback_dir: Where runs go when the tracker fails.

    Example:
        >>> import keras, numpy as np, likely, tempfile, os
        >>> previous = os.getcwd()
        >>> os.chdir(tempfile.mkdtemp())  # the embedded store goes to ./mlflow.db
        >>> model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(2),
        ...                           likely.layers.IndependentNormal(1)])
        >>> model.compile("adam", likely.losses.nll)
        >>> logger = likely.callbacks.MlflowLogger(log_model=False)
        >>> _ = model.fit(np.zeros((8, 1)), np.zeros(8), epochs=2, verbose=0, callbacks=[logger])
        >>> logger.run.status
        'FINISHED'
        >>> os.chdir(previous)
    """

    def __init__(
        self,
        experiment: str | None = None,
        run_name: str | None = None,
        *,
        data: tuple[Any, Any] | None = None,
        feature_names: Sequence[str] | None = None,
        batch_size: int | None = None,
        seed: int | None = None,
        config: dict[str, Any] | None = None,
        tags: dict[str, Any] | None = None,
        log_model: bool = True,
        quantile_levels: Sequence[float] = DEFAULT_QUANTILE_LEVELS,
        registered_model_name: str | None = None,
        fallback_dir: str | os.PathLike | None = None,
    ) -> None:
        super().__init__()
        if data is not None and (not isinstance(data, tuple | list) or len(data) != 2):
            raise ValueError(f"Argument `data` must be an (x, y) pair. Received: {type(data)}")
        if config is not None and not isinstance(config, dict):
            raise TypeError(f"Argument `config` must be a dict. Received: {type(config).__name__}")
        levels = tuple(float(q) for q in quantile_levels)
        if not all(0.0 < q < 1.0 for q in levels):
            raise ValueError(
                f"Argument `quantile_levels` must lie in (0, 1). Received: {quantile_levels!r}"
            )
        self.experiment = experiment
        self.run_name = run_name
        self.data = data
        self.feature_names = list(feature_names) if feature_names is not None else None
        self.batch_size = batch_size
        self.seed = seed
        self.config = dict(config or {})
        self.tags = dict(tags or {})
        self.log_model = log_model
        self.quantile_levels = levels
        self.registered_model_name = registered_model_name
        self.fallback_dir = fallback_dir
        self.run: Any = None
        self.model_uri: str | None = None
        self._owned = False
        self._history: dict[str, list[tuple[int, float]]] = {}
        self._params: dict[str, Any] = {}
        self._xy: tuple[Any, Any] = (None, None)

    @property
    def run_id(self) -> str | None:
        """Id of the MLflow run this logger writes to (None in fallback or when off)."""
        return getattr(self.run, "run_id", None)

    def _resolve_run(self) -> Any:
        from likely.tracking import _hooks, _run

        _hooks.close_stale()
        active = _run.active_run()
        if active is not None:
            return active, False
        mlflow = sys.modules.get("mlflow")
        fluent = mlflow.active_run() if mlflow is not None else None
        if fluent is not None:
            return _run.attach_run(fluent.info.run_id), False
        run = _run.open_run(
            self.experiment,
            self.run_name,
            tags=self.tags,
            fallback_dir=self.fallback_dir,
            closed_by_next_fit=True,
        )
        return run, True

    def on_train_begin(self, logs: dict | None = None) -> None:
        from likely.tracking import _params as p

        self.run, self._owned = self._resolve_run()
        self._history = {}
        self.model_uri = None
        if self.run.mode == "disabled":
            return
        arguments = p.fit_arguments(self.model)
        x, y = self.data if self.data is not None else (arguments.get("x"), arguments.get("y"))
        self._xy = (x, y)
        if self.feature_names is None and hasattr(x, "columns"):
            self.feature_names = [str(c) for c in x.columns]
        params = {
            **p.architecture_params(self.model),
            **p.optimizer_params(self.model),
            **p.fit_params(arguments, self.params or {}),
            **p.environment_params(),
        }
        if self.batch_size is not None:
            params["batch_size"] = self.batch_size
        seed = self.seed if self.seed is not None else p.global_seed()
        if seed is not None:
            params["seed"] = seed
        data_print = p.fingerprint(x, y)
        if data_print is not None:
            params["data.n_samples"] = data_print["n_samples"]
            params["data.x_shape"] = data_print["x_shape"]
            params["data.sha256"] = data_print["sha256"][:16]
        params.update({f"config.{k}": v for k, v in self.config.items()})
        self._params = params
        if not self._owned and self.tags:
            self.run.set_tags(self.tags)
        self.run.log_params(params)
        if data_print is not None:
            val = p.fingerprint(arguments.get("val_x"), arguments.get("val_y"))
            self.run.log_dict({"training": data_print, "validation": val}, "data/fingerprint.json")
        self.run.log_text(p.model_summary(self.model), "model_summary.txt")

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.run is None or self.run.mode == "disabled":
            return
        metrics = {}
        for key, value in (logs or {}).items():
            try:
                metrics[key] = float(np.asarray(value))
            except (TypeError, ValueError):
                continue
            self._history.setdefault(key, []).append((epoch, metrics[key]))
        self.run.log_metrics(metrics, step=epoch)

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.run is None or self.run.mode == "disabled":
            return
        from likely.tracking import _hooks

        try:
            self._log_results()
        except BaseException as exc:
            if self._owned:
                self.run.end(_hooks.status_for(exc))
            raise
        if self._owned:
            self.run.end("FINISHED")

    def _log_results(self) -> None:
        from likely.tracking import _params as p

        if any(key.endswith("loss") for key in self._history):
            self.run.log_figure(p.loss_curve_figure(self._history), "plots/loss_curve.png")
        x, y = (p._as_array(v) for v in self._xy)
        if x is not None and y is not None and x.ndim == 2 and x.shape[1] == 1 and y.size == len(x):
            self.run.log_figure(p.prediction_figure(self.model, x, y), "plots/predictive.png")
        config = {"params": self._params, "config": self.config, "history": self._history_table()}
        self.run.log_dict(config, "config.yaml")
        if self.log_model:
            self.model_uri = self._log_model(x)

    def _log_model(self, x: Any) -> str | None:
        from likely.tracking._model import KERAS_FILE, feature_names_for

        try:
            feature_names_for(self.model, self.feature_names)
        except ValueError:  # not a (batch, d) single-input model: keep the .keras file only
            import tempfile

            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, KERAS_FILE)
                self.model.save(path)
                self.run.log_artifact(path, "model")
            return None
        return self.run.log_model(
            self.model,
            feature_names=self.feature_names,
            quantile_levels=self.quantile_levels,
            input_example=x,
            registered_model_name=self.registered_model_name,
        )

    def _history_table(self) -> dict[str, list[float]]:
        return {key: [value for _, value in values] for key, values in self._history.items()}


__all__ = ["MlflowLogger"]
