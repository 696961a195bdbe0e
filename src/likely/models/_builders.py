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

from likely import distributions, layers
from likely.distributions import DEFAULT_MIN_SCALE
from likely.distributions import check_positive_int as _check_positive_int
from likely.layers import DenseFlipout, DenseVariational, EnsembleDense, MCDropout

VARIATIONAL = {"reparameterization": DenseVariational, "flipout": DenseFlipout}

_NAMED_HEADS = {
    "normal": layers.IndependentNormal,
    "mixture": layers.MixtureNormal,
    "student_t": layers.IndependentStudentT,
    "lognormal": layers.IndependentLogNormal,
    "mvn_tril": layers.MultivariateNormalTriL,
    "bernoulli": layers.IndependentBernoulli,
    "one_hot_categorical": layers.OneHotCategorical,
    "spline_flow": layers.SplineFlow,
    "mixture_same_family": layers.MixtureSameFamily,
}
"""Families with a TFP-named head class; any other registered family gets a DistributionHead."""


def _check_hidden(hidden: Any) -> tuple[int, ...]:
    if isinstance(hidden, int) or not isinstance(hidden, Sequence):
        raise TypeError(
            "Argument `hidden` must be a sequence of layer widths, e.g. (64, 64) or () for "
            f"none. Received: hidden={hidden!r}"
        )
    return tuple(_check_positive_int("hidden", width) for width in hidden)


def head_layer(
    head: str | layers.DistributionHead = "normal",
    *,
    num_components: int = 1,
    event_size: int = 1,
    min_scale: float = DEFAULT_MIN_SCALE,
    head_options: dict[str, Any] | None = None,
    ensemble_size: int | None = None,
    target_scaling: bool = False,
) -> layers.DistributionHead:
    """The head layer for a family name and its options (what `mlp` ends in).

    `num_components`, `event_size` and `min_scale` go to the families that
    take them; other options (`num_bins`, `low`, `high`, `min_df`,
    `component`, `num_classes`) come in `head_options`. Passing an option a
    family does not take (e.g. `num_components=5` with `head="normal"`) is
    an error.

    Example:
        >>> import likely
        >>> likely.models.head_layer("spline_flow", head_options={"low": 0.0, "high": 3.0})
        <SplineFlow family='spline_flow' options={'num_bins': 16, 'low': 0.0, 'high': 3.0}>
    """
    if isinstance(head, layers.DistributionHead):
        if head_options:
            raise ValueError("Pass `head_options` with a family name, not with a head layer.")
        return head
    if not isinstance(head, str):
        raise TypeError(
            "Argument `head` must be a family name (likely.distributions.family_names()) or a "
            f"likely head layer. Received: head={head!r}"
        )
    if head not in distributions.family_names():
        names = ", ".join(distributions.family_names())
        raise ValueError(
            f"Argument `head` must be a registered family ({names}) or a likely head layer. "
            f"Received: head={head!r}"
        )
    family = distributions.get_family(head)
    import inspect

    accepted = inspect.signature(family.check_options).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())
    options = dict(head_options or {})
    for key, value, default in (
        ("num_components", num_components, 1),
        ("event_size", event_size, 1),
        ("min_scale", min_scale, DEFAULT_MIN_SCALE),
    ):
        if key in accepted or (takes_any and key != "num_components"):
            options.setdefault(key, value)
        elif value != default:
            raise ValueError(
                f"The {head!r} head takes no `{key}`. Received: {key}={value!r}"
                + (
                    " (use head='mixture' for a mixture density network)."
                    if key == "num_components"
                    else "."
                )
            )
    cls = _NAMED_HEADS.get(head)
    extra = {"ensemble_size": ensemble_size, "target_scaling": target_scaling}
    if cls is None:
        return layers.DistributionHead(head, **extra, **options)
    return cls(**options, **extra)


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
    head: str | layers.DistributionHead = "normal",
    num_components: int = 1,
    event_size: int = 1,
    min_scale: float = DEFAULT_MIN_SCALE,
    head_options: dict[str, Any] | None = None,
    ensemble_size: int = 1,
    variational: str | None = None,
    n_train: int | None = None,
    kl_weight: float | None = None,
    dropout: float = 0.0,
    normalizer: keras.Layer | None = None,
    targets: Any = None,
    seed: int | None = None,
    name: str | None = None,
) -> keras.Sequential:
    """A multilayer perceptron ending in a likely head, ready to `compile` and `fit`.

    `Input(input_dim)` -> `normalizer` (optional) -> one dense layer per entry
    of `hidden` (with `activation`, each followed by `MCDropout(dropout)` when
    `dropout > 0`) -> a dense layer to the head's parameters -> the head.
    The model is returned uncompiled, so the optimizer stays the caller's
    choice; compile it with `loss=likely.losses.nll`, which is the negative
    log-likelihood for every kind built here (for ensembles, the mean of the
    member NLLs; for Bayesian networks Keras adds the layers' KL terms).

    - `ensemble_size = M > 1` builds a deep ensemble as ONE model: every dense
      layer is a `likely.layers.EnsembleDense` with its own initialization per
      member, the output is `(batch, M, P)`, and one `fit` trains the
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
    Targets are standardized inside the model when you pass the training
    `targets`: the head then maps its distribution back to their units
    (`likely.layers.DistributionHead`'s `target_scaling`), so targets in the
    thousands train as well as targets near 1, and predictions, losses and
    the saved model stay in the targets' units. Bounded and discrete
    families (spline flows, classifiers) are left as they are.

    Args:
        input_dim: Number of input features.
        hidden: Widths of the hidden layers; `()` gives a linear model.
        activation: Activation of the hidden layers.
        head: A distribution family name (`likely.distributions.family_names()`:
            `"normal"`, `"mixture"`, `"student_t"`, `"lognormal"`, `"mvn_tril"`,
            `"spline_flow"`, `"mixture_same_family"`, `"bernoulli"`, ...) or a
            likely head layer; see `head_layer`.
        num_components: Mixture components K (`head="mixture"` or
            `"mixture_same_family"`).
        event_size: Target dimensions E.
        min_scale: Floor of the head's scales (see `likely.layers.IndependentNormal`).
        head_options: Further options of the family (e.g. `{"low": 0.0,
            "high": 3.0}` for `"spline_flow"`, `{"component": "student_t"}`).
        ensemble_size: Ensemble members M; 1 for a single network.
        variational: None, `"reparameterization"` or `"flipout"`.
        n_train: Training-set size, for the KL weight of variational layers.
        kl_weight: KL weight of variational layers, instead of `n_train`.
        dropout: MC-dropout rate after each hidden layer (0 for none).
        normalizer: A Keras layer applied to the inputs first.
        targets: The training targets, (n,) or (n, E): the head standardizes
            them internally (their mean and standard deviation; the geometric
            mean for positive families). None: no target scaling.
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
        (None, 5, 2)
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
    output_layer = head_layer(
        head,
        num_components=_check_positive_int("num_components", num_components),
        event_size=_check_positive_int("event_size", event_size),
        min_scale=min_scale,
        head_options=head_options,
        ensemble_size=ensemble_size if ensemble_size > 1 else None,
    )
    if targets is not None and output_layer.num_params is not None:
        probe = output_layer.scaling_kind()
        if probe is not None:
            output_layer = head_layer(
                head,
                num_components=num_components,
                event_size=event_size,
                min_scale=min_scale,
                head_options=head_options,
                ensemble_size=ensemble_size if ensemble_size > 1 else None,
                target_scaling=True,
            ).adapt(targets)
    params_size = output_layer.num_params
    if params_size is None:
        raise ValueError(
            "mlp needs a head that knows its params_size; a DistributionLambda does not. "
            "Build the model with keras.Sequential instead."
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

    stack: list[keras.Layer] = [keras.Input((input_dim,))]
    if normalizer is not None:
        stack.append(normalizer)
    for i, width in enumerate(hidden):
        stack.append(dense(width, activation, f"hidden_{i}"))
        if dropout > 0:
            stack.append(MCDropout(dropout, seed=seeds.next(), name=f"mc_dropout_{i}"))
    stack.append(dense(params_size, None, "params"))
    stack.append(output_layer)
    return keras.Sequential(stack, name=name or _default_name(ensemble_size, variational, dropout))


def _default_name(ensemble_size: int, variational: str | None, dropout: float) -> str:
    if ensemble_size > 1:
        return f"mlp_ensemble_{ensemble_size}"
    if variational is not None:
        return f"mlp_{variational}"
    return "mlp_mc_dropout" if dropout > 0 else "mlp"
