"""`mlp`: the multilayer perceptrons of the course, with a probabilistic head.

One builder makes the four kinds of networks likely trains: a plain network
(aleatoric uncertainty only), a deep ensemble (`ensemble_size > 1`), a
Bayesian network (`variational=...`) and an MC-dropout network (`dropout > 0`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np

from likely.layers import (
    DenseFlipout,
    DenseVariational,
    EnsembleDense,
    IndependentNormal,
    MCDropout,
    MixtureNormal,
)
from likely.layers._heads import DEFAULT_MIN_SCALE, _check_positive_int

HEADS = ("normal", "mixture")
VARIATIONAL = {"reparameterization": DenseVariational, "flipout": DenseFlipout}


def _check_hidden(hidden: Any) -> tuple[int, ...]:
    if isinstance(hidden, int) or not isinstance(hidden, Sequence):
        raise TypeError(
            "Argument `hidden` must be a sequence of layer widths, e.g. (64, 64) or () for "
            f"none. Received: hidden={hidden!r}"
        )
    return tuple(_check_positive_int("hidden", width) for width in hidden)


def _head_layer(
    head: str, num_components: int, event_size: int, min_scale: float
) -> tuple[keras.Layer, int]:
    if head not in HEADS:
        raise ValueError(f"Argument `head` must be one of {HEADS}. Received: head={head!r}")
    if head == "normal":
        if num_components != 1:
            raise ValueError(
                "A `head='normal'` model has one component; use head='mixture' for a mixture "
                f"density network. Received: num_components={num_components!r}"
            )
        return (
            IndependentNormal(event_size, min_scale=min_scale),
            IndependentNormal.params_size(event_size),
        )
    return (
        MixtureNormal(num_components, event_size, min_scale=min_scale),
        MixtureNormal.params_size(num_components, event_size),
    )


class _Seeds:
    """Distinct reproducible seeds for the layers of one model (None when unseeded)."""

    def __init__(self, seed: int | None) -> None:
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(f"Argument `seed` must be an int or None. Received: seed={seed!r}")
        self._sequence = None if seed is None else np.random.SeedSequence(seed)

    def next(self) -> int | None:
        if self._sequence is None:
            return None
        (child,) = self._sequence.spawn(1)
        return int(child.generate_state(1)[0] % (2**31 - 1))


def mlp(
    input_dim: int,
    *,
    hidden: Sequence[int] = (64, 64),
    activation: Any = "relu",
    head: str = "normal",
    num_components: int = 1,
    event_size: int = 1,
    min_scale: float = DEFAULT_MIN_SCALE,
    ensemble_size: int = 1,
    variational: str | None = None,
    n_train: int | None = None,
    kl_weight: float | None = None,
    dropout: float = 0.0,
    normalizer: keras.Layer | None = None,
    seed: int | None = None,
    name: str | None = None,
) -> keras.Sequential:
    """A multilayer perceptron ending in a likely head, ready to `compile` and `fit`.

    `Input(input_dim)` -> `normalizer` (optional) -> one dense layer per entry
    of `hidden` (with `activation`, each followed by `MCDropout(dropout)` when
    `dropout > 0`) -> a dense layer to the head's parameters -> the head.
    The model is returned uncompiled, so the optimizer stays the caller's
    choice; compile it with `loss=likely.losses.nll`, which is the negative
    log-likelihood for every kind built here (for ensembles, the sum of the
    member NLLs; for Bayesian networks Keras adds the layers' KL terms).

    - `ensemble_size = M > 1` builds a deep ensemble as ONE model: every dense
      layer is a `likely.layers.EnsembleDense` with its own initialization per
      member, the output is `(batch, M, K, 1 + 2E)`, and one `fit` trains the
      M members side by side on the same shuffled batches (they differ by
      their random initialization; Lakshminarayanan et al. 2017 found that
      this works better than bootstrap resampling).
    - `variational="reparameterization"` (`DenseVariational`) or `"flipout"`
      (`DenseFlipout`) makes every dense layer Bayesian; the KL weight must be
      given, as `n_train` (the number of training examples: weight 1/n_train)
      or `kl_weight`.
    - `dropout > 0` adds `MCDropout` layers that stay on at prediction time.

    Bayesian and dropout models sample in every pass: use
    `likely.predict_distribution(model, x, n_samples=S, seed=...)`.

    Inputs are not rescaled unless you pass a `normalizer`, e.g. a
    `keras.layers.Normalization()` already `adapt`-ed to the training inputs
    (it is then saved with the model); otherwise standardize `x` yourself.

    Args:
        input_dim: Number of input features.
        hidden: Widths of the hidden layers; `()` gives a linear model.
        activation: Activation of the hidden layers.
        head: `"normal"` (`IndependentNormal`) or `"mixture"` (`MixtureNormal`).
        num_components: Mixture components K (`head="mixture"`).
        event_size: Target dimensions E.
        min_scale: Floor of the head's scales (see `likely.layers.IndependentNormal`).
        ensemble_size: Ensemble members M; 1 for a single network.
        variational: None, `"reparameterization"` or `"flipout"`.
        n_train: Training-set size, for the KL weight of variational layers.
        kl_weight: KL weight of variational layers, instead of `n_train`.
        dropout: MC-dropout rate after each hidden layer (0 for none).
        normalizer: A Keras layer applied to the inputs first.
        seed: Seed of the initializers and of the stochastic layers; the same
            seed builds the same model.
        name: Model name.

    Returns:
        An uncompiled `keras.Sequential`.

    Example:
        >>> import numpy as np, likely
        >>> x, y = likely.datasets.make_d2(n=64, seed=0)
        >>> model = likely.models.mlp(1, hidden=(16,), ensemble_size=5, seed=0)
        >>> model.output_shape
        (None, 5, 1, 3)
        >>> model.compile(optimizer="adam", loss=likely.losses.nll)
        >>> _ = model.fit(x, y, epochs=2, batch_size=32, verbose=0)
        >>> p = likely.predict_distribution(model, x)
        >>> p.num_members, bool(np.allclose(
        ...     p.variance, p.aleatoric_variance + p.epistemic_variance, rtol=1e-5))
        (5, True)
    """
    input_dim = _check_positive_int("input_dim", input_dim)
    hidden = _check_hidden(hidden)
    ensemble_size = _check_positive_int("ensemble_size", ensemble_size)
    head_layer, params_size = _head_layer(
        head,
        _check_positive_int("num_components", num_components),
        _check_positive_int("event_size", event_size),
        min_scale,
    )
    if variational is not None and variational not in VARIATIONAL:
        raise ValueError(
            f"Argument `variational` must be None or one of {tuple(VARIATIONAL)}. "
            f"Received: variational={variational!r}"
        )
    if variational is not None and ensemble_size > 1:
        raise ValueError(
            "Ensembles of variational networks are not supported: choose `ensemble_size > 1` "
            f"or `variational`. Received: ensemble_size={ensemble_size}, "
            f"variational={variational!r}."
        )
    if variational is None and (n_train is not None or kl_weight is not None):
        raise ValueError(
            "Arguments `n_train` and `kl_weight` set the KL term of variational layers; pass "
            f"`variational=` too. Received: n_train={n_train!r}, kl_weight={kl_weight!r}."
        )
    if isinstance(dropout, bool) or not isinstance(dropout, int | float) or not 0 <= dropout < 1:
        raise ValueError(f"Argument `dropout` must be in [0, 1). Received: dropout={dropout!r}")
    if normalizer is not None and not isinstance(normalizer, keras.Layer):
        raise TypeError(
            "Argument `normalizer` must be a Keras layer (e.g. keras.layers.Normalization). "
            f"Received: {type(normalizer).__name__}."
        )
    seeds = _Seeds(seed)

    def dense(units: int, layer_activation: Any, layer_name: str) -> keras.Layer:
        initializer = keras.initializers.GlorotUniform(seed=seeds.next())
        if ensemble_size > 1:
            return EnsembleDense(
                units,
                ensemble_size,
                activation=layer_activation,
                kernel_initializer=initializer,
                name=layer_name,
            )
        if variational is not None:
            return VARIATIONAL[variational](
                units,
                activation=layer_activation,
                n_train=n_train,
                kl_weight=kl_weight,
                kernel_initializer=initializer,
                seed=seeds.next(),
                name=layer_name,
            )
        return keras.layers.Dense(
            units, activation=layer_activation, kernel_initializer=initializer, name=layer_name
        )

    layers: list[keras.Layer] = [keras.Input((input_dim,))]
    if normalizer is not None:
        layers.append(normalizer)
    for i, width in enumerate(hidden):
        layers.append(dense(width, activation, f"hidden_{i}"))
        if dropout > 0:
            layers.append(MCDropout(dropout, seed=seeds.next(), name=f"mc_dropout_{i}"))
    layers.append(dense(params_size, None, "params"))
    layers.append(head_layer)
    return keras.Sequential(layers, name=name or _default_name(ensemble_size, variational, dropout))


def _default_name(ensemble_size: int, variational: str | None, dropout: float) -> str:
    if ensemble_size > 1:
        return f"mlp_ensemble_{ensemble_size}"
    if variational is not None:
        return f"mlp_{variational}"
    return "mlp_mc_dropout" if dropout > 0 else "mlp"
