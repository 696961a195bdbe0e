"""Model building and fitting shared by `likely train`, the demo and the estimator."""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np

from likely import losses
from likely.experiment._config import (
    EarlyStoppingConfig,
    ModelConfig,
    TrainingConfig,
    resolved_training,
)
from likely.models import mlp


def build_network(
    model_config: ModelConfig,
    input_dim: int,
    preprocessing: list[keras.Layer],
    n_train: int,
    seed: int,
    targets: Any = None,
) -> keras.Model:
    """`likely.models.mlp` with the run's preprocessing layers in front.

    `targets` (the training targets) standardize the targets inside the model.
    """
    normalizer = keras.Sequential(preprocessing, name="preprocessing") if preprocessing else None
    return mlp(
        input_dim,
        hidden=tuple(model_config.hidden),
        activation=model_config.activation,
        head=model_config.head,
        num_components=model_config.num_components,
        head_options=dict(model_config.head_options),
        ensemble_size=model_config.ensemble_size,
        variational=model_config.variational,
        n_train=n_train if model_config.variational else None,
        dropout=model_config.dropout,
        min_scale=model_config.min_scale,
        normalizer=normalizer,
        targets=targets,
        seed=seed,
    )


def compile_model(model: keras.Model, training: TrainingConfig, steps_per_epoch: int) -> None:
    """Compiles with the configured optimizer and schedule and the NLL loss.

    `training` must be resolved on the rows trained on (`resolved_training`).
    """
    if training.weight_decay == "auto" or training.batch_size == "auto":
        raise ValueError("compile_model needs a resolved training config: call resolved_training")
    rate: Any = training.learning_rate
    if training.schedule == "cosine":
        rate = keras.optimizers.schedules.CosineDecay(
            training.learning_rate, decay_steps=max(1, training.epochs * steps_per_epoch)
        )
    if training.optimizer == "adamw":
        optimizer = keras.optimizers.AdamW(rate, weight_decay=training.weight_decay)
    else:
        optimizer = keras.optimizers.Adam(rate)
    # Keras' PyTorch trainer runs one step per call (it refuses more).
    steps = 1 if keras.backend.backend() == "torch" else training.steps_per_execution
    model.compile(optimizer=optimizer, loss=losses.nll, steps_per_execution=steps)


def fit_rows(n_rows: int, validation_fraction: float) -> int:
    """Rows `fit` trains on: Keras' `validation_split` holds out floor(n * fraction)."""
    return n_rows - int(math.floor(n_rows * validation_fraction))


def steps_per_epoch(n_rows: int, training: TrainingConfig, validation_fraction: float) -> int:
    n_fit = fit_rows(n_rows, validation_fraction)
    return max(1, math.ceil(n_fit / resolved_training(training, n_fit).batch_size))


def training_callbacks(
    stopping: EarlyStoppingConfig,
    validation: Any,
    validates: bool,
    callbacks: list[keras.callbacks.Callback] | None,
    progress: str | None,
) -> list[keras.callbacks.Callback]:
    """TerminateOnNaN, early stopping where `fit` validates, the caller's callbacks, progress.

    `validation` is the explicit validation data (`calibrated_nll` needs it) or
    None; `validates` says whether `fit` validates at all (explicit data or
    Keras' `validation_split`).
    """
    out: list[keras.callbacks.Callback] = [keras.callbacks.TerminateOnNaN()]
    if stopping.enabled and stopping.monitor == "calibrated_nll" and validation is not None:
        from likely.callbacks import CalibratedEarlyStopping

        out.append(CalibratedEarlyStopping(validation, patience=stopping.patience))
    elif stopping.enabled and validates:
        out.append(
            keras.callbacks.EarlyStopping(patience=stopping.patience, restore_best_weights=True)
        )
    out += callbacks or []
    if progress:
        from likely._progress import EpochProgress

        out.append(EpochProgress(progress))
    return out


def fit_model(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    training: TrainingConfig,
    validation_fraction: float,
    callbacks: list[keras.callbacks.Callback] | None = None,
    progress: str | None = "training",
) -> keras.callbacks.History:
    """Shuffles once (catalogues are often sorted), then fits with early stopping.

    Keras' `validation_split` takes the LAST rows; on a table sorted by the
    target that would validate on an unseen range, so rows are permuted first
    with the run's seed.
    """
    training = resolved_training(training, fit_rows(len(x), validation_fraction))
    order = np.random.default_rng(training.seed).permutation(len(x))
    x, y = x[order], y[order]
    validation: Any = None
    if training.devices is not None:
        x, y, validation, validation_fraction = _split_for_devices(
            x, y, training, validation_fraction
        )
    stopping = training.early_stopping
    calibrated = stopping.enabled and stopping.monitor == "calibrated_nll"
    if calibrated and validation is None and validation_fraction > 0:
        n_fit = fit_rows(len(x), validation_fraction)  # the rows validation_split would take
        x, y, validation = x[:n_fit], y[:n_fit], (x[n_fit:], y[n_fit:])
        validation_fraction = 0.0
    validates = validation_fraction > 0 or validation is not None
    fit_callbacks = training_callbacks(stopping, validation, validates, callbacks, progress)
    return model.fit(
        x,
        y,
        batch_size=training.batch_size,
        epochs=training.epochs,
        validation_split=validation_fraction,
        validation_data=validation,
        callbacks=fit_callbacks,
        verbose=0,
    )


def _split_for_devices(
    x: np.ndarray, y: np.ndarray, training: TrainingConfig, validation_fraction: float
) -> tuple[np.ndarray, np.ndarray, Any, float]:
    """Keras' validation split, with both parts trimmed to a multiple of the device count.

    Data-parallel steps split every batch evenly between devices, so the last
    (partial) batch must divide too: at most `devices - 1` rows of each part
    are dropped. The model must have been built inside
    `likely.distributed.distribution_scope` (as `likely train` does).
    """
    from likely.distributed import device_count

    if keras.distribution.distribution() is None:
        from likely.errors import ConfigError

        raise ConfigError(
            "training.devices is set but no distribution is active: build, compile and fit "
            "the model inside likely.distributed.distribution_scope (as `likely train` does)"
        )
    count = device_count()
    n_val = int(math.floor(len(x) * validation_fraction))
    n_fit = len(x) - n_val
    fit_end, val_end = n_fit - n_fit % count, n_fit + n_val - n_val % count
    validation = (x[n_fit:val_end], y[n_fit:val_end]) if val_end > n_fit else None
    return x[:fit_end], y[:fit_end], validation, 0.0
