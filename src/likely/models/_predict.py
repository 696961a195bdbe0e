"""`predict_distribution`: run a model and ask its head for the predictive distribution."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import keras
import numpy as np
from keras import ops

from likely.distributions import Distribution, mix_members
from likely.layers import DistributionHead
from likely.models._predictive import Predictive

DEFAULT_PREDICT_BATCH_SIZE = 4096
"""Keras' own default (32) is 5-10x slower for these small MLPs on CPU."""

DEFAULT_N_SAMPLES = 100
"""Forward passes of a stochastic model when `predict_distribution` gets no `n_samples`."""

_RECALIBRATIONS: dict[str, Callable[[Predictive, dict[str, Any]], Predictive]] = {}


def register_recalibration(
    kind: str, apply: Callable[[Predictive, dict[str, Any]], Predictive]
) -> None:
    """Registers how a recalibration stored in a head (`{"kind": kind, ...}`) is applied.

    `likely.calibration` registers its recalibrators (`scale`, `isotonic`) when
    imported; `predict_distribution` imports it when a model carries one. The
    maps live there (they need the float64 machinery of `likely.metrics`,
    which sits above this package); the head only stores their parameters.
    """
    _RECALIBRATIONS[kind] = apply


def apply_recalibration(predictive: Predictive, config: dict[str, Any] | None) -> Predictive:
    """`predictive` mapped by a stored recalibration `config` (None: unchanged)."""
    if not config:
        return predictive
    kind = config.get("kind")
    if kind not in _RECALIBRATIONS:
        import importlib

        importlib.import_module("likely.calibration")  # registers the built-in kinds
    if kind not in _RECALIBRATIONS:
        raise ValueError(
            f"The model carries a recalibration of unknown kind {kind!r}; known: "
            f"{sorted(_RECALIBRATIONS)}."
        )
    return _RECALIBRATIONS[kind](predictive, config)


def output_head(model: keras.Layer) -> DistributionHead:
    """The likely head that produces `model`'s output; a clear TypeError if there is none.

    Sequential and functional models (also nested ones) are followed from
    their output back to the layer that made it; nothing is read from the
    output's shape.

    Example:
        >>> import keras, likely
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2),
        ...                           likely.layers.IndependentNormal(1)])
        >>> likely.models.output_head(model).family
        'normal'
    """
    layer = _output_layer(model)
    if isinstance(layer, DistributionHead):
        return layer
    if isinstance(layer, keras.Model) and layer is not model:
        return output_head(layer)
    output_shape = getattr(model, "output_shape", None)
    raise TypeError(
        "predict_distribution needs a model whose output comes from a likely head "
        "(likely.layers.IndependentNormal, MixtureNormal, IndependentStudentT, "
        "DistributionHead, DistributionLambda, ...). Received a model whose output comes "
        f"from {type(layer).__name__ if layer is not None else 'an unknown layer'} with "
        f"output shape {output_shape}. End the model in a likely head"
        + (", or pass head=<the head layer> for a subclassed model." if layer is None else ".")
    )


def _output_layer(model: keras.Layer) -> keras.Layer | None:
    if isinstance(model, DistributionHead):
        return model
    if isinstance(model, keras.Sequential):
        return model.layers[-1] if model.layers else None
    outputs = getattr(model, "outputs", None)
    if isinstance(model, keras.Model) and outputs:
        if len(outputs) != 1:
            raise TypeError(
                f"predict_distribution takes a model with one output; this one has "
                f"{len(outputs)}. Build a model per output (keras.Model(inputs, output))."
            )
        history = getattr(outputs[0], "_keras_history", None)
        return history.operation if history is not None else None
    return None


def predict_distribution(
    model: keras.Model,
    x: Any,
    batch_size: int | None = None,
    *,
    n_samples: int | None = None,
    seed: int | None = None,
    head: DistributionHead | None = None,
    recalibrated: bool = True,
) -> Predictive:
    """Runs `model` on `x` and returns its predictive distribution.

    The model's head (its last layer) says which distribution its outputs
    parameterize. Deterministic models are run once; ensembles (an
    `EnsembleDense` before the head) become the equal-weight mixture of their
    M members. Stochastic models (with `likely.layers.DenseVariational`,
    `DenseFlipout` or `MCDropout`, which sample in every forward pass) are
    run `n_samples` times and become the equal-weight mixture of the passes.
    Either way the result knows its members, so `aleatoric_variance` and
    `epistemic_variance` split its variance.

    Args:
        model: A Keras model ending in a likely head.
        x: Model inputs.
        batch_size: Prediction batch size; defaults to 4096 (Keras' own 32 is
            much slower for small networks). A `DenseVariational` layer draws
            one weight sample per batch, so the objects of one pass share a
            posterior draw only within a batch; each object's S predictions
            are always S independent draws.
        n_samples: Number of forward passes S of a stochastic model (default
            100). Passing it for a deterministic model is an error.
        seed: Seed of the passes of a stochastic model: the same seed gives
            the same predictive, and the model's random state is restored
            afterwards. None draws fresh randomness. Deterministic models
            ignore it.
        head: The head whose outputs the model returns, for subclassed models
            (Sequential and functional models are followed automatically).
        recalibrated: Apply the recalibration stored in the head (`likely
            train` and the estimator fit one on held-out data); False gives
            the network's own predictive.

    Returns:
        A `Predictive` with batch shape `(n,)` and `num_members` M (ensembles),
        S (stochastic models), S * M (stochastic ensembles) or 1.

    Raises:
        TypeError: The model does not end in a likely head.
        ValueError: The model predicted NaN or infinite parameters.

    Example:
        >>> import keras, numpy as np, likely
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2),
        ...                           likely.layers.IndependentNormal(1)])
        >>> likely.predict_distribution(model, np.zeros((5, 2))).mean.shape
        (5,)
        >>> bayes = keras.Sequential([
        ...     keras.Input((2,)),
        ...     likely.layers.DenseVariational(2, n_train=100, seed=0),
        ...     likely.layers.IndependentNormal(1),
        ... ])
        >>> p = likely.predict_distribution(bayes, np.ones((5, 2)), n_samples=20, seed=1)
        >>> p.num_members, bool((p.epistemic_variance > 0).all())
        (20, True)
    """
    head = output_head(model) if head is None else head
    if not isinstance(head, DistributionHead):
        raise TypeError(f"Argument `head` must be a likely head. Received: {type(head).__name__}")
    batch_size = batch_size or DEFAULT_PREDICT_BATCH_SIZE
    generators = _seed_generators(model) if is_stochastic(model) else []
    if not generators:
        if n_samples is not None:
            raise ValueError(
                "Argument `n_samples` is for stochastic models (with DenseVariational, "
                "DenseFlipout or MCDropout layers); this model is deterministic, and one pass "
                f"gives its predictive. Received: n_samples={n_samples!r}."
            )
        params = model.predict(x, batch_size=batch_size, verbose=0)
        return predictive_from_params(head, params, recalibrated=recalibrated)
    n_samples = DEFAULT_N_SAMPLES if n_samples is None else n_samples
    if isinstance(n_samples, bool) or not isinstance(n_samples, int | np.integer) or n_samples < 1:
        raise ValueError(
            f"Argument `n_samples` must be a positive integer. Received: n_samples={n_samples!r}"
        )
    with _reseeded(generators, seed):
        passes = [_one_pass(model, x, batch_size) for _ in range(n_samples)]
    stacked = np.stack(passes, axis=1)
    return predictive_from_params(head, stacked, passes=True, recalibrated=recalibrated)


def predictive_from_params(
    head: DistributionHead,
    params: np.ndarray,
    *,
    passes: bool = False,
    recalibrated: bool = True,
) -> Predictive:
    """The `Predictive` of a head's outputs `params` (NumPy).

    `params` is `(n, P)`, `(n, M, P)` for an ensemble head, and with
    `passes=True` has a pass axis after the first: `(n, S, P)` or
    `(n, S, M, P)`. Members and passes become the members of the mixture.
    The head's stored recalibration is applied unless `recalibrated=False`.

    Example:
        >>> import numpy as np, likely
        >>> head = likely.layers.IndependentNormal(1)
        >>> likely.models.predictive_from_params(head, np.zeros((4, 2))).batch_shape
        (4,)
    """
    params = np.asarray(params)
    _check_finite_params(params)
    member_axes = int(passes) + int(head.ensemble_size is not None)
    if member_axes:
        n = params.shape[0]
        count = int(np.prod(params.shape[1 : 1 + member_axes]))
        flat = params.reshape((n, count) + params.shape[1 + member_axes :])
        members = head.distribution(flat)
        _check_batch(head, members, extra=1)
        predictive = Predictive(mix_members(members), members=members)
    else:
        distribution = head.distribution(params)
        if len(distribution.batch_shape) == 2 and distribution.batch_shape[-1] == 1:
            distribution = distribution.reshape_batch(distribution.batch_shape[:1])
        _check_batch(head, distribution, extra=0)
        predictive = Predictive(distribution)
    if recalibrated:
        predictive = apply_recalibration(predictive, getattr(head, "recalibration", None))
    return predictive


def _check_finite_params(params: np.ndarray) -> None:
    bad = ~np.isfinite(params)
    if bad.any():
        rows = np.unique(np.nonzero(bad)[0])
        raise ValueError(
            f"The model predicted NaN or infinite parameters for {rows.size} of "
            f"{params.shape[0]} rows (first rows: {rows[:5].tolist()}). Check those inputs "
            "(NaN or extreme values) and whether training diverged."
        )


def _check_batch(head: DistributionHead, distribution: Distribution, extra: int) -> None:
    if len(distribution.batch_shape) != 1 + extra:
        raise ValueError(
            f"{type(head).__name__} outputs a distribution of batch shape "
            f"{distribution.batch_shape}: one per object was expected. If axis 1 of the head's "
            "input holds ensemble members, declare them: put an EnsembleDense right before "
            "the head or pass ensemble_size=M to the head."
        )


def _one_pass(model: keras.Model, x: Any, batch_size: int) -> np.ndarray:
    """One forward pass over `x`, batch by batch.

    Array inputs go through `predict_on_batch`, whose per-call overhead is about
    100 times smaller than `predict`'s (which matters for S passes over a few
    hundred rows); other inputs (dicts, datasets) go through `predict`.
    """
    if isinstance(x, dict) or not hasattr(x, "__array__"):
        return model.predict(x, batch_size=batch_size, verbose=0)
    x = np.asarray(x)
    chunks = [
        np.asarray(model.predict_on_batch(x[start : start + batch_size]))
        for start in range(0, len(x), batch_size)
    ]
    return np.concatenate(chunks, axis=0)


def is_stochastic(model: keras.Layer) -> bool:
    """Whether `model` samples in every forward pass (Bayesian or MC-dropout layers).

    Such models need `predict_distribution(model, x, n_samples=S, seed=...)`.
    Any other layer with a true `samples_at_inference` attribute counts too
    (`likely.experiment.FeaturePipeline` drawing magnitudes from their errors);
    its randomness must come from a `keras.random.SeedGenerator` it owns.

    Example:
        >>> import keras, likely
        >>> likely.models.is_stochastic(keras.Sequential([likely.layers.MCDropout(0.1)]))
        True
        >>> likely.models.is_stochastic(keras.Sequential([keras.layers.Dropout(0.1)]))
        False
    """
    from likely.layers import DenseFlipout, DenseVariational, MCDropout

    for layer in _all_layers(model):
        if isinstance(layer, DenseVariational | DenseFlipout):
            return True
        if isinstance(layer, MCDropout) and layer.rate > 0:
            return True
        if getattr(layer, "samples_at_inference", False) is True:
            return True
    return False


def _all_layers(model: keras.Layer) -> list[keras.Layer]:
    return list(model._flatten_layers(include_self=True, recursive=True))


def _seed_generators(model: keras.Layer) -> list[keras.random.SeedGenerator]:
    """Every SeedGenerator the model's layers own, in a stable order."""
    generators: list[keras.random.SeedGenerator] = []
    for layer in _all_layers(model):
        for value in vars(layer).values():
            if isinstance(value, keras.random.SeedGenerator) and all(
                value is not g for g in generators
            ):
                generators.append(value)
    return generators


@contextlib.contextmanager
def _reseeded(generators: list[keras.random.SeedGenerator], seed: int | None) -> Iterator[None]:
    """Within the block, the generators start from states derived from `seed`.

    Each generator gets its own seed (so layers draw independent noise); the
    previous states are restored on exit. `seed=None` leaves them untouched.
    """
    if seed is None:
        yield
        return
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(f"Argument `seed` must be an int or None. Received: seed={seed!r}")
    seeds = np.random.SeedSequence(int(seed)).generate_state(len(generators)) % (2**31 - 1)
    saved = [np.asarray(ops.convert_to_numpy(g.state.value)) for g in generators]
    try:
        for generator, s in zip(generators, seeds, strict=True):
            _set_state(generator, np.array([int(s), 0]))
        yield
    finally:
        for generator, state in zip(generators, saved, strict=True):
            _set_state(generator, state)


def _set_state(generator: keras.random.SeedGenerator, state: np.ndarray) -> None:
    generator.state.assign(ops.convert_to_tensor(state, dtype=generator.state.dtype))
