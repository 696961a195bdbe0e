"""`ProbabilisticRegressor`: the scikit-learn estimator API over likely's training pipeline."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from likely._constants import DEFAULT_MIN_SCALE
from likely.experiment import EarlyStoppingConfig, ModelConfig, TrainingConfig, fit_arrays
from likely.models import Predictive, predict_distribution


class ProbabilisticRegressor(RegressorMixin, BaseEstimator):
    """A neural network that predicts a distribution, as a scikit-learn regressor.

    The same model, training and defaults as `likely train` (one pipeline,
    `likely.experiment.fit_arrays`): inputs and targets are standardized
    inside the model (standardized inputs are clipped to the training range
    widened by 10% each side, `likely.layers.ClipToRange`, so a row far
    outside the training sample is not extrapolated without bound), rows are
    shuffled once, a share is held out — half for
    early stopping, half to choose and fit a recalibration that the model
    keeps. `predict` gives the predictive mean (and standard deviation with
    `return_std=True`); `predict_distribution` the whole `likely.Predictive`;
    `score` the mean log-likelihood (higher is better, as scikit-learn expects).

    Args:
        hidden: Hidden layer widths.
        activation: Hidden activation.
        head: The head's distribution family: "normal", "mixture", "student_t",
            "lognormal", "spline_flow", "mixture_same_family", ...
            (`likely.distributions.family_names()`).
        num_components: Mixture components (head="mixture" or "mixture_same_family").
        head_options: Further options of the family, e.g. `{"low": 0.0, "high": 3.0}`
            for "spline_flow".
        ensemble_size: Deep-ensemble members trained as one model (5 by
            default: on the robustness protocol's 20 data sets the ensemble's
            NLL beat one network's on 17 and it beat the constant baseline on
            all, for about twice the fit time; 1 trains a single network).
        epochs: Maximum epochs.
        batch_size: Batch size, or "auto": the smallest power of two >= (training
            rows)/64, between 32 and 256.
        learning_rate: Peak learning rate (cosine decay).
        weight_decay: AdamW weight decay, or "auto": 4e-3 on up to 2,000 training
            rows, 4e-3 x 2,000/n above, as `likely train`'s `weight_decay: auto`.
        validation_fraction: Share held out (none under 50 rows).
        patience: Early-stopping patience, in epochs without improvement of the
            held-out NLL after a scale recalibration
            (`likely.callbacks.CalibratedEarlyStopping`).
        min_scale: Floor of the predicted scales, in standardized target units.
        recalibrate: "auto", "none", "scale" or "isotonic".
        random_state: Seed of the initialization, the split and the shuffling;
            None draws fresh randomness at each `fit`. No global seed is touched.
        tracking: Log each fit to MLflow (see `likely.tracking`), quietly.
        verbose: Show a progress bar.
        photometry: None, or the fields of a `likely.experiment.PhotometryConfig`
            (`bands`, `magnitude`, `error`, `reference_band`, `nondetection_value`,
            `limits`, `convolve_errors`, `error_samples`): `X` is then a pandas
            DataFrame whose magnitude and error columns (by name) become the
            reference magnitude, colours, errors and detection flags of
            `likely train` (non-detections: NaN or the sentinel), its other
            columns extra features. `convolve_errors=True` trains on magnitudes
            redrawn from their errors in every step; `error_samples=S`
            predicts the mixture over S draws (seeded by `random_state`).

    Attributes:
        model_: The trained Keras model.
        history_: Keras' training history.
        recalibration_: The recalibration chosen on held-out rows
            (`likely.calibration.RecalibrationChoice`), or None.
        seed_: The seed the fit used.

    Example:
        >>> import numpy as np, likely
        >>> x, y = likely.datasets.make_d2(n=200, seed=0)
        >>> reg = likely.ProbabilisticRegressor(hidden=(16,), epochs=5, tracking=False)
        >>> reg.fit(x, y).predict(x).shape
        (200,)
        >>> mean, std = reg.predict(x[:3], return_std=True)
        >>> reg.predict_distribution(x[:3]).interval(0.9)[0].shape
        (3,)
    """

    def __init__(
        self,
        hidden: Sequence[int] = (128, 128),
        activation: str = "relu",
        head: str = "mixture",
        num_components: int = 3,
        head_options: dict[str, Any] | None = None,
        ensemble_size: int = 5,
        epochs: int = 200,
        batch_size: int | str = "auto",
        learning_rate: float = 2e-3,
        weight_decay: float | str = "auto",
        validation_fraction: float = 0.2,
        patience: int = 20,
        min_scale: float = DEFAULT_MIN_SCALE,
        recalibrate: str = "auto",
        random_state: int | None = None,
        tracking: bool = True,
        verbose: bool = False,
        photometry: dict[str, Any] | None = None,
    ) -> None:
        self.hidden = hidden
        self.activation = activation
        self.head = head
        self.num_components = num_components
        self.head_options = head_options
        self.ensemble_size = ensemble_size
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.min_scale = min_scale
        self.recalibrate = recalibrate
        self.random_state = random_state
        self.tracking = tracking
        self.verbose = verbose
        self.photometry = photometry

    def _configs(self) -> tuple[ModelConfig, TrainingConfig]:
        from pydantic import ValidationError

        from likely.errors import ConfigError
        from likely.experiment import format_validation_error

        if self.recalibrate not in ("auto", "none", "scale", "isotonic"):
            raise ValueError(
                "Argument `recalibrate` must be 'auto', 'none', 'scale' or 'isotonic'. "
                f"Received: {self.recalibrate!r}"
            )
        try:
            model = ModelConfig(
                hidden=list(self.hidden),
                activation=self.activation,
                head=self.head,
                num_components=self.num_components,
                head_options=dict(self.head_options or {}),
                ensemble_size=self.ensemble_size,
                min_scale=self.min_scale,
            )
            training = TrainingConfig(
                learning_rate=self.learning_rate,
                weight_decay=self.weight_decay,
                batch_size=self.batch_size,
                epochs=self.epochs,
                early_stopping=EarlyStoppingConfig(patience=self.patience),
                seed=self._seed(),
            )
        except ValidationError as error:
            raise ConfigError(format_validation_error(error, type(self).__name__)) from None
        return model, training

    def _seed(self) -> int | None:
        state = self.random_state
        if state is None:
            return None
        if isinstance(state, np.random.RandomState):
            return int(state.randint(0, 2**31 - 1))
        if isinstance(state, bool) or not isinstance(state, int | np.integer):
            raise ValueError(f"Argument `random_state` must be an int or None. Received: {state!r}")
        return int(state)

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> ProbabilisticRegressor:
        """Trains a fresh network on `X` (n, d) and `y` (n,), optionally weighting rows."""
        model_config, training = self._configs()
        preprocessing: list[Any] = []
        if self.photometry is None:
            X, y = validate_data(self, X, y, dtype="float32", y_numeric=True)
        else:
            frame = X
            _, y = validate_data(
                self, X, y, dtype="float32", y_numeric=True, ensure_all_finite=False
            )
            features = self._feature_pipeline(frame, training.seed)
            X = features.check_table(frame, source="X").frame[features.input_columns]
            X = X.to_numpy(dtype="float32")
            preprocessing.append(features)
        if len(X) < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 samples to fit a distribution; "
                f"got {len(X)} sample{'' if len(X) == 1 else 's'}."
            )
        weights = None
        if sample_weight is not None:
            from sklearn.utils.validation import _check_sample_weight

            weights = _check_sample_weight(sample_weight, X, dtype=np.float32)
        progress = "fitting" if self.verbose else None
        fit = dict(
            validation_fraction=self.validation_fraction,
            recalibrate=self.recalibrate,
            preprocessing=preprocessing,
            sample_weight=weights,
            progress=progress,
        )
        if self.tracking:
            from likely import tracking
            from likely.callbacks import MlflowLogger

            with _quiet_tracking(), tracking.start_run(run_name=type(self).__name__):
                logger = MlflowLogger(config=self.get_params(), seed=training.seed)
                result = fit_arrays(model_config, training, X, y, callbacks=[logger], **fit)
        else:
            result = fit_arrays(model_config, training, X, y, **fit)
        self.model_ = result.model
        self.history_ = result.history
        self.recalibration_ = result.recalibration
        self.seed_ = result.seed
        return self

    def _feature_pipeline(self, frame: Any, seed: int) -> Any:
        """The `FeaturePipeline` of `photometry` over the DataFrame `frame`."""
        from pydantic import ValidationError

        from likely.errors import ConfigError
        from likely.experiment import (
            DataConfig,
            PhotometryConfig,
            format_validation_error,
            make_feature_pipeline,
        )

        if not hasattr(frame, "columns"):
            raise TypeError(
                "With `photometry`, X must be a pandas DataFrame: its magnitude and error "
                f"columns are read by name. Received: {type(frame).__name__}."
            )
        try:
            photometry = PhotometryConfig.model_validate(self.photometry)
        except ValidationError as error:
            raise ConfigError(format_validation_error(error, "photometry")) from None
        photometric = photometry.magnitude_columns() + photometry.error_columns()
        missing = [name for name in photometric if name not in frame.columns]
        if missing:
            raise ValueError(
                f"X lacks the photometry columns {missing} (bands {photometry.bands}, "
                f"magnitude {photometry.magnitude!r}, error {photometry.error!r}). "
                f"Received columns: {list(frame.columns)}."
            )
        others = [str(c) for c in frame.columns if c not in photometric]
        data = DataConfig(train="", features=others, photometry=photometry, target="y")
        return make_feature_pipeline(data, frame, seed=seed)

    def predict_distribution(self, X: Any) -> Predictive:
        """The predictive distribution of each row of `X` (recalibrated, in `y`'s units)."""
        from likely.experiment import find_feature_pipeline, sampling_options

        check_is_fitted(self, "model_")
        features = find_feature_pipeline(self.model_)
        if features is None:
            X = validate_data(self, X, dtype="float32", reset=False)
        else:
            validate_data(self, X, dtype="float32", reset=False, ensure_all_finite=False)
            checked = features.check_table(X, source="X").frame
            X = checked[features.input_columns].to_numpy(dtype="float32")
        return predict_distribution(self.model_, X, **sampling_options(self.model_))

    def predict(self, X: Any, return_std: bool = False) -> Any:
        """The predictive mean of each row of `X`; with `return_std`, also its std."""
        predictive = self.predict_distribution(X)
        mean = np.asarray(predictive.mean, dtype=np.float64)
        if return_std:
            return mean, np.asarray(predictive.stddev, dtype=np.float64)
        return mean

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Mean log-likelihood of `y` (the negative of the mean NLL): higher is better."""
        log_prob = self.predict_distribution(X).log_prob(np.asarray(y, dtype=float).ravel())
        return float(np.average(log_prob, weights=sample_weight))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True  # score is a log-likelihood, not R^2
        tags.non_deterministic = self.random_state is None
        return tags


@contextlib.contextmanager
def _quiet_tracking() -> Iterator[None]:
    """MLflow's INFO lines and artifact progress bars stay out of the user's terminal."""
    import mlflow  # noqa: F401  (importing it sets its loggers' levels: import first)

    loggers = [logging.getLogger(name) for name in ("mlflow", "alembic")]
    levels = [logger.level for logger in loggers]
    bar = os.environ.get("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR")
    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
    for logger in loggers:
        logger.setLevel(max(logger.level, logging.WARNING))
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
        if bar is None:
            os.environ.pop("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", None)
        else:
            os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = bar
