"""`ProbabilisticRegressor`: the scikit-learn estimator API over likely's training pipeline."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from likely.experiment._config import EarlyStoppingConfig, ModelConfig, TrainingConfig
from likely.experiment._training import build_network, compile_model, fit_model, steps_per_epoch
from likely.models import Predictive, predict_distribution

_MIN_ROWS_FOR_VALIDATION = 50


class ProbabilisticRegressor(RegressorMixin, BaseEstimator):
    """A neural network that predicts a distribution, as a scikit-learn regressor.

    The same network, training loop and defaults as `likely train`: inputs
    are standardized inside the model, rows are shuffled once, a share is
    held out for early stopping. `predict` gives the predictive mean;
    `predict_distribution` the whole `likely.Predictive`; `score` the mean
    log-likelihood (higher is better, as scikit-learn expects).

    Args:
        hidden: Hidden layer widths.
        activation: Hidden activation.
        head: "normal" or "mixture".
        num_components: Mixture components (head="mixture").
        ensemble_size: Deep-ensemble members trained as one model.
        epochs: Maximum epochs.
        batch_size: Batch size.
        learning_rate: Peak learning rate (cosine decay).
        weight_decay: AdamW weight decay.
        validation_fraction: Share held out for early stopping (none under 50 rows).
        patience: Early-stopping patience.
        min_scale: Floor of the predicted scales, in target units.
        random_state: Seed of the initialization, the split and the shuffling.
        tracking: Log each fit to MLflow (see `likely.tracking`).
        verbose: Show a progress bar.

    Example:
        >>> import numpy as np, likely
        >>> x, y = likely.datasets.make_d2(n=200, seed=0)
        >>> reg = likely.ProbabilisticRegressor(hidden=(16,), epochs=5, tracking=False)
        >>> reg.fit(x, y).predict(x).shape
        (200,)
        >>> reg.predict_distribution(x[:3]).interval(0.9)[0].shape
        (3,)
    """

    def __init__(
        self,
        hidden: Sequence[int] = (64, 64),
        activation: str = "relu",
        head: str = "normal",
        num_components: int = 1,
        ensemble_size: int = 1,
        epochs: int = 200,
        batch_size: int = 256,
        learning_rate: float = 2e-3,
        weight_decay: float = 4e-3,
        validation_fraction: float = 0.15,
        patience: int = 15,
        min_scale: float = 1e-6,
        random_state: int | None = None,
        tracking: bool = True,
        verbose: bool = False,
    ) -> None:
        self.hidden = hidden
        self.activation = activation
        self.head = head
        self.num_components = num_components
        self.ensemble_size = ensemble_size
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.min_scale = min_scale
        self.random_state = random_state
        self.tracking = tracking
        self.verbose = verbose

    def _configs(self) -> tuple[ModelConfig, TrainingConfig]:
        from pydantic import ValidationError

        from likely.errors import ConfigError
        from likely.experiment._config import format_validation_error

        try:
            model = ModelConfig(
                hidden=list(self.hidden),
                activation=self.activation,
                head=self.head,
                num_components=self.num_components,
                ensemble_size=self.ensemble_size,
                min_scale=self.min_scale,
            )
            training = TrainingConfig(
                learning_rate=self.learning_rate,
                weight_decay=self.weight_decay,
                batch_size=self.batch_size,
                epochs=self.epochs,
                early_stopping=EarlyStoppingConfig(patience=self.patience),
                seed=0 if self.random_state is None else int(self.random_state),
            )
        except ValidationError as error:
            raise ConfigError(format_validation_error(error, type(self).__name__)) from None
        return model, training

    def fit(self, X: Any, y: Any) -> ProbabilisticRegressor:
        """Trains a fresh network on `X` (n, d) and `y` (n,)."""
        import keras

        X, y = validate_data(self, X, y, dtype="float32", y_numeric=True)
        model_config, training = self._configs()
        keras.utils.set_random_seed(training.seed)
        fraction = self.validation_fraction if len(X) >= _MIN_ROWS_FOR_VALIDATION else 0.0
        normalization = keras.layers.Normalization(name="standardize")
        normalization.adapt(X)
        model = build_network(
            model_config, X.shape[1], [normalization], n_train=len(X), seed=training.seed
        )
        compile_model(model, training, steps_per_epoch(len(X), training, fraction))
        y = y.astype("float32")
        progress = "fitting" if self.verbose else None
        if self.tracking:
            from likely import tracking
            from likely.callbacks import MlflowLogger

            with tracking.start_run(run_name=type(self).__name__):
                logger = MlflowLogger(config=self.get_params(), seed=training.seed)
                history = fit_model(model, X, y, training, fraction, [logger], progress)
        else:
            history = fit_model(model, X, y, training, fraction, None, progress)
        self.model_ = model
        self.history_ = {k: [float(v) for v in vs] for k, vs in history.history.items()}
        return self

    def predict_distribution(self, X: Any) -> Predictive:
        """The predictive distribution of each row of `X`."""
        check_is_fitted(self, "model_")
        X = validate_data(self, X, dtype="float32", reset=False)
        return predict_distribution(self.model_, X)

    def predict(self, X: Any) -> np.ndarray:
        """The predictive mean of each row of `X`."""
        return self.predict_distribution(X).mean

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Mean log-likelihood of `y` (the negative of the mean NLL): higher is better."""
        log_prob = self.predict_distribution(X).log_prob(np.asarray(y, dtype=float).ravel())
        return float(np.average(log_prob, weights=sample_weight))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True  # score is a log-likelihood, not R^2
        tags.non_deterministic = False
        return tags
