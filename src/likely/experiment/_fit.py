"""One fit for every entry point: split, build, train, recalibrate (CLI, estimator, sweeps, RAIL).

`fit_arrays` is what `likely train`, `likely.ProbabilisticRegressor`,
`likely sweep` and the RAIL stages call, so they build, preprocess, split,
train and recalibrate the same model the same way.

The rows are shuffled once with the run's seed (catalogues are often sorted
by the target) and split three ways: the rows the network trains on, the
rows early stopping watches, and the rows the recalibration is chosen and
fitted on — disjoint, so neither the epoch choice nor the recalibration is
judged on rows it was tuned on.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Iterator, Sequence
from typing import Any

import keras
import numpy as np

from likely.experiment._config import ModelConfig, TrainingConfig, resolved_training
from likely.experiment._features import sampling_options
from likely.experiment._shift import training_sample_layer
from likely.experiment._training import build_network, compile_model, training_callbacks

MIN_ROWS_FOR_VALIDATION = 50
"""Below this many rows everything is trained on (no early stopping, no recalibration)."""


@dataclasses.dataclass
class Split:
    """Row indices of one fit: training, early stopping, recalibration (disjoint)."""

    fit: np.ndarray
    stop: np.ndarray
    calibration: np.ndarray


@dataclasses.dataclass
class FitResult:
    """What `fit_arrays` produced.

    Attributes:
        model: The trained Keras model (its head carries the recalibration).
        history: Keras' history (`loss` is the mean NLL per object, for an
            ensemble the mean of the members' NLLs; `val_loss` the same on
            the early-stopping rows).
        split: The row indices used.
        seed: The seed used (drawn when the config's was None).
        recalibration: `likely.calibration.RecalibrationChoice`, or None.
        calibration_report: PIT KS and 68%/95% coverage on the recalibration
            rows before and after (`raw_*`, `recalibrated_*`), or {}.
    """

    model: keras.Model
    history: dict[str, list[float]]
    split: Split
    seed: int
    recalibration: Any = None
    calibration_report: dict[str, float] = dataclasses.field(default_factory=dict)


def resolve_seed(seed: int | None) -> int:
    """`seed` itself, or fresh entropy when None (never a fixed default)."""
    if seed is None:
        return int(np.random.SeedSequence().generate_state(1)[0] % (2**31 - 1))
    return int(seed)


def standardization(values: np.ndarray, name: str = "standardize") -> keras.layers.Normalization:
    """A `Normalization` layer with the mean and variance of `values` (n, d).

    A column that is constant in `values` (a one-hot level absent from the
    training rows, a flag never set) keeps its offset but is not divided by
    its zero spread: Keras' own `adapt` would divide by 1e-7 there, so one
    unseen level at prediction time would reach the network as 10^7 and its
    prediction would be arbitrary, silently.

    Example:
        >>> import numpy as np
        >>> layer = standardization(np.array([[0.0, 1.0], [0.0, 3.0]]))
        >>> np.asarray(layer(np.array([[1.0, 2.0]]))).round(3)
        array([[1., 0.]], dtype=float32)
    """
    values = np.asarray(values, dtype=np.float64)
    mean, variance = values.mean(axis=0), values.var(axis=0)
    constant = np.sqrt(variance) <= 1e-6 * np.maximum(1.0, np.abs(mean))
    variance = np.where(constant, 1.0, variance)
    return keras.layers.Normalization(mean=mean, variance=variance, name=name)


def input_layers(
    model_config: ModelConfig, features: Any, shift_score: Any, seed: int | None
) -> list[keras.Layer]:
    """The layers between the features and the network, adapted on training `features` (n, d).

    The standardization; with `shift_score` enabled, the `TrainingSampleDistance`
    reference of the standardized rows; with `model_config.input_clip_margin`
    set, a `likely.layers.ClipToRange` to their widened range.
    """
    from likely.layers import ClipToRange

    values = keras.ops.convert_to_numpy(features)
    normalization = standardization(values)
    layers: list[keras.Layer] = [normalization]
    standardized = keras.ops.convert_to_numpy(normalization(values))
    reference = training_sample_layer(shift_score, standardized, seed)
    if reference is not None:
        layers.append(reference)
    if model_config.input_clip_margin is not None:
        margin = model_config.input_clip_margin
        layers.append(ClipToRange.adapt_to(standardized, margin, name="training_range"))
    return layers


def split_rows(n: int, validation_fraction: float, seed: int) -> Split:
    """Shuffled rows: `floor(n * validation_fraction)` held out, halved into stop and calibration.

    Example:
        >>> s = split_rows(100, 0.2, seed=0)
        >>> len(s.fit), len(s.stop), len(s.calibration)
        (80, 10, 10)
    """
    order = np.random.default_rng(seed).permutation(n)
    held = int(math.floor(n * validation_fraction)) if n >= MIN_ROWS_FOR_VALIDATION else 0
    n_fit = n - held
    n_stop = (held + 1) // 2
    return Split(order[:n_fit], order[n_fit : n_fit + n_stop], order[n_fit + n_stop :])


@contextlib.contextmanager
def _seeded_shuffling(seed: int) -> Iterator[None]:
    """Seeds the generator Keras shuffles with, then restores the caller's.

    JAX: NumPy's global generator; PyTorch: torch's (a `RandomSampler`);
    both are restored afterwards. TensorFlow shuffles with `tf.random`,
    whose global seed is set and cannot be restored.
    """
    state = np.random.get_state()  # noqa: NPY002 (Keras shuffles with the global generator)
    np.random.seed(seed % (2**32))  # noqa: NPY002
    backend = keras.backend.backend()
    try:
        if backend == "torch":
            import torch

            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                yield
        else:
            if backend == "tensorflow":
                import tensorflow as tf

                tf.random.set_seed(seed)
            yield
    finally:
        np.random.set_state(state)  # noqa: NPY002


def fit_arrays(
    model_config: ModelConfig,
    training: TrainingConfig,
    x: np.ndarray,
    y: np.ndarray,
    *,
    validation_fraction: float,
    recalibrate: str = "auto",
    preprocessing: Sequence[keras.Layer] = (),
    sample_weight: np.ndarray | None = None,
    shift_score: Any = None,
    callbacks: list[keras.callbacks.Callback] | None = None,
    progress: str | None = None,
) -> FitResult:
    """Builds, trains and recalibrates a network on arrays `x` (n, d) and `y` (n,) or (n, E).

    The inputs are standardized by a `keras.layers.Normalization` adapted on
    the training rows (after `preprocessing`, e.g. a `FeaturePipeline`), the
    targets by the head (`likely.models.mlp(targets=...)`); the model stays in
    the data's units. The seed drives the initialization, the split and the
    shuffling; NumPy's and torch's global generators are restored afterwards
    (on TensorFlow, TF's global seed is set to it: TF cannot restore one).

    Args:
        model_config: The network (`likely.experiment.ModelConfig`).
        training: Optimization settings; `training.seed` None draws a fresh seed.
        x: Inputs (raw columns when `preprocessing` turns them into features).
        y: Targets.
        validation_fraction: Share of rows held out (half for early stopping,
            half for the recalibration); none below 50 rows.
        recalibrate: "auto", "none", "scale" or "isotonic" (see
            `likely.calibration.choose_recalibration`).
        preprocessing: Layers applied to `x` before the standardization.
        sample_weight: Optional per-row weights for the loss.
        shift_score: A `ShiftScoreConfig`: keep a reference sample of the
            standardized training rows in the model (`likely.experiment.shift_score`).
        callbacks: Extra Keras callbacks.
        progress: A progress-bar label, or None for none.
    """
    seed = resolve_seed(training.seed)
    x = np.asarray(x, dtype="float32")
    y = np.asarray(y, dtype="float32")
    weights = None if sample_weight is None else _check_weights(sample_weight, len(x))
    split = split_rows(len(x), validation_fraction, seed)
    training = resolved_training(training, len(split.fit))
    with _seeded_shuffling(seed):  # Keras shuffles (and torch predicts) with global generators
        return _build_fit_recalibrate(
            model_config, training, x, y, weights, split, seed, recalibrate, preprocessing,
            shift_score, callbacks, progress,
        )  # fmt: skip


def _build_fit_recalibrate(
    model_config: ModelConfig,
    training: TrainingConfig,
    x: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray | None,
    split: Split,
    seed: int,
    recalibrate: str,
    preprocessing: Sequence[keras.Layer],
    shift_score: Any,
    callbacks: list[keras.callbacks.Callback] | None,
    progress: str | None,
) -> FitResult:
    from likely.calibration import choose_recalibration
    from likely.models import output_head

    features = x[split.fit]
    for layer in preprocessing:
        features = layer(features)
    layers = [*preprocessing, *input_layers(model_config, features, shift_score, seed)]
    model = build_network(
        model_config,
        input_dim=x.shape[1],
        preprocessing=layers,
        n_train=len(split.fit),
        seed=seed,
        targets=y[split.fit],
    )
    compile_model(model, training, max(1, math.ceil(len(split.fit) / training.batch_size)))
    history = _fit(model, x, y, weights, split, training, callbacks, progress, seed)
    result = FitResult(model, history, split, seed)
    if len(split.calibration) and recalibrate != "none":
        head = output_head(model)
        raw = _predict(model, x[split.calibration], seed, recalibrated=False)
        choice = choose_recalibration(raw, y[split.calibration], recalibrate, seed=seed)
        head.recalibration = choice.config()
        result.recalibration = choice
        if raw.event_shape == () and not raw.support.discrete:
            result.calibration_report = _calibration_report(
                model, raw, x[split.calibration], y[split.calibration], seed
            )
    return result


def _fit(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray | None,
    split: Split,
    training: TrainingConfig,
    callbacks: list[keras.callbacks.Callback] | None,
    progress: str | None,
    seed: int,
) -> dict[str, list[float]]:
    validation = None
    if len(split.stop):
        validation = (x[split.stop], y[split.stop])
        if weights is not None:
            validation = (*validation, weights[split.stop])
    fit_callbacks = training_callbacks(
        training.early_stopping, validation, validation is not None, callbacks, progress
    )
    x_fit, y_fit = x[split.fit], y[split.fit]
    w_fit = None if weights is None else weights[split.fit]
    if training.devices is not None:
        x_fit, y_fit, w_fit, validation = _trim_for_devices(x_fit, y_fit, w_fit, validation)
    history = model.fit(
        x_fit,
        y_fit,
        sample_weight=w_fit,
        batch_size=training.batch_size,
        epochs=training.epochs,
        validation_data=validation,
        callbacks=fit_callbacks,
        verbose=0,
    )
    return {k: [float(v) for v in values] for k, values in history.history.items()}


def _trim_for_devices(x: Any, y: Any, w: Any, validation: Any) -> tuple[Any, Any, Any, Any]:
    """Data-parallel steps split every batch evenly: trim both parts to a multiple of devices."""
    from likely.distributed import device_count
    from likely.errors import ConfigError

    if keras.distribution.distribution() is None:
        raise ConfigError(
            "training.devices is set but no distribution is active: build, compile and fit "
            "the model inside likely.distributed.distribution_scope (as `likely train` does)"
        )
    count = device_count()
    end = len(x) - len(x) % count
    x, y, w = x[:end], y[:end], None if w is None else w[:end]
    if validation is not None:
        stop = len(validation[0]) - len(validation[0]) % count
        validation = tuple(part[:stop] for part in validation) if stop else None
    return x, y, w, validation


def _predict(model: keras.Model, x: np.ndarray, seed: int, recalibrated: bool) -> Any:
    from likely.models import is_stochastic, predict_distribution

    kwargs = sampling_options(model) or ({"seed": seed} if is_stochastic(model) else {})
    return predict_distribution(model, x, recalibrated=recalibrated, **kwargs)


def _calibration_report(
    model: keras.Model, raw: Any, x: np.ndarray, y: np.ndarray, seed: int
) -> dict[str, float]:
    """PIT KS and coverage on the recalibration rows, before and after (in-sample after)."""
    from likely import metrics

    report: dict[str, float] = {}
    after = _predict(model, x, seed, recalibrated=True)
    for prefix, predictive in (("raw", raw), ("recalibrated", after)):
        report[f"{prefix}_pit_ks"] = float(metrics.pit_ks(y, predictive))
        for level in (0.68, 0.95):
            report[f"{prefix}_coverage_{round(100 * level)}"] = float(
                metrics.coverage(y, predictive, level)
            )
    return report


def _check_weights(sample_weight: Any, n: int) -> np.ndarray:
    weights = np.asarray(sample_weight, dtype="float32").reshape(-1)
    if weights.shape != (n,) or not np.isfinite(weights).all() or (weights < 0).any():
        raise ValueError(
            f"Argument `sample_weight` must hold {n} finite, non-negative weights (one per row). "
            f"Received: shape {np.shape(sample_weight)}."
        )
    return weights
