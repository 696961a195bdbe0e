"""Keras callbacks of likely: `MlflowLogger` tracks a training run in MLflow."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np

from likely.tracking import DEFAULT_QUANTILE_LEVELS


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
        return self.run.log_model_or_file(
            self.model,
            feature_names=self.feature_names,
            quantile_levels=self.quantile_levels,
            input_example=x,
            registered_model_name=self.registered_model_name,
        )

    def _history_table(self) -> dict[str, list[float]]:
        return {key: [value for _, value in values] for key, values in self._history.items()}


class CalibratedEarlyStopping(keras.callbacks.Callback):
    """Early stopping on the held-out NLL of the predictive after a scale recalibration.

    A network trained by likelihood keeps improving its mean and shape long
    after its held-out NLL starts to rise: the rise is mostly overconfidence
    (predicted spreads shrinking on the training rows), which a post-hoc
    recalibration removes. Stopping on the raw `val_loss` therefore stops
    too early. This callback scores, after every epoch, the predictive of the
    held-out rows once rescaled by the `likely.calibration.ScaleRecalibrator`
    that fits them best (two parameters), logs that NLL as
    `val_calibrated_nll`, stops after `patience` epochs without improvement
    and restores the best epoch's weights. Families a scale map does not
    apply to (bounded, positive, discrete, multivariate) are scored by their
    plain held-out NLL.

    Put it before `MlflowLogger` in the callback list so that the logged
    epoch metrics include `val_calibrated_nll`.

    Args:
        validation_data: `(x, y)` or `(x, y, sample_weight)` held-out rows
            (the weights weight the NLL; the scale map is fitted unweighted).
        patience: Epochs without improvement before training stops.
        min_delta: Smallest decrease (nats) that counts as an improvement.
        batch_size: Prediction batch size (likely's default when None).

    Attributes:
        best: The best `val_calibrated_nll`.
        best_epoch: Its epoch (0-based), or None before the first epoch.
        stopped_epoch: The epoch training stopped at, or None.

    Example:
        >>> import numpy as np, keras, likely
        >>> rng = np.random.default_rng(0)
        >>> x = rng.uniform(-1, 1, (256, 1)).astype("float32")
        >>> y = (x[:, 0] + 0.1 * rng.normal(size=256)).astype("float32")
        >>> model = likely.models.mlp(1, hidden=(8,), seed=0)
        >>> model.compile(optimizer="adam", loss=likely.losses.nll)
        >>> stop = likely.callbacks.CalibratedEarlyStopping((x[:64], y[:64]), patience=2)
        >>> _ = model.fit(x[64:], y[64:], epochs=3, callbacks=[stop], verbose=0)
        >>> stop.best_epoch is not None and bool(np.isfinite(stop.best))
        True
    """

    def __init__(
        self,
        validation_data: tuple[Any, ...],
        patience: int = 20,
        min_delta: float = 0.0,
        batch_size: int | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(validation_data, tuple) or len(validation_data) not in (2, 3):
            raise ValueError(
                "Argument `validation_data` must be a tuple (x, y) or (x, y, sample_weight). "
                f"Received: {type(validation_data).__name__}"
            )
        if patience < 1:
            raise ValueError(f"Argument `patience` must be at least 1. Received: {patience}")
        self.x, self.y = validation_data[0], np.asarray(validation_data[1], dtype=np.float64)
        weights = validation_data[2] if len(validation_data) == 3 else None
        self.weights = None if weights is None else np.asarray(weights, dtype=np.float64)
        self.patience = patience
        self.min_delta = min_delta
        self.batch_size = batch_size

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.best, self.best_epoch, self.stopped_epoch = np.inf, None, None
        self._wait, self._best_weights = 0, None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        score = self.score()
        if logs is not None:
            logs["val_calibrated_nll"] = score
        if score < self.best - self.min_delta or self.best_epoch is None:
            self.best, self.best_epoch, self._wait = score, epoch, 0
            self._best_weights = self.model.get_weights()
            return
        self._wait += 1
        if self._wait >= self.patience:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self._best_weights is not None:
            self.model.set_weights(self._best_weights)

    def score(self) -> float:
        """The held-out NLL of the current model, after the best scale map where one applies."""
        from likely.calibration import ScaleRecalibrator, candidates
        from likely.models import predict_distribution

        predictive = predict_distribution(
            self.model, self.x, batch_size=self.batch_size, recalibrated=False
        )
        y = self.y
        if y.ndim == 2 and y.shape[1] == 1 and predictive.event_shape == ():
            y = y[:, 0]  # a column vector of scalar targets
        if "scale" in candidates(predictive):
            predictive = ScaleRecalibrator().fit(predictive, y).transform(predictive)
        nll = -np.asarray(predictive.log_prob(y), dtype=np.float64)
        if nll.ndim > 1:  # multivariate: log_prob is per row already; discrete the same
            nll = nll.reshape(len(nll), -1).sum(axis=1)
        value = float(np.average(nll, weights=self.weights))
        return value if np.isfinite(value) else np.inf


__all__ = ["CalibratedEarlyStopping", "MlflowLogger"]
