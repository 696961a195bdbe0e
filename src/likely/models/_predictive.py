"""`Predictive`: a predictive distribution with NumPy results, and `predict_distribution`.

Ensembles and stochastic (Bayesian, MC-dropout) models predict an
equal-weight mixture of members: the M ensemble members, or the S forward
passes of a stochastic model. `Predictive` remembers the member grouping and
splits the variance by the law of total variance,
`variance = aleatoric_variance + epistemic_variance`.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

import keras
import numpy as np
from keras import ops
from scipy.special import logsumexp

from likely.distributions import MixtureNormal, Normal, unpack_params
from likely.distributions._packed import event_size_of

DEFAULT_PREDICT_BATCH_SIZE = 4096
"""Keras' own default (32) is 5-10x slower for these small MLPs on CPU."""

DEFAULT_N_SAMPLES = 100
"""Forward passes of a stochastic model when `predict_distribution` gets no `n_samples`."""

Distribution = Normal | MixtureNormal


def _numpy(x: Any) -> np.ndarray:
    return np.asarray(ops.convert_to_numpy(x))


class Predictive:
    """A predictive distribution over a batch of targets, with NumPy results.

    Wraps a likely distribution (the output of `predict_distribution`, or one
    built directly from arrays) so that metrics, calibration and plots work
    on predictions made anywhere. Every method returns NumPy arrays.
    Arguments `y` of `log_prob`, `pdf` and `cdf` broadcast against the batch
    shape, as in `torch.distributions`: pass `y_true` of shape `(n,)` for one
    value per object, or a grid of shape `(G, 1)` to get a `(G, n)` table.

    A predictive made of members (an ensemble's networks, or the forward
    passes of a stochastic model) is a mixture whose components come in
    `num_members` consecutive groups of equal size; `aleatoric_variance` and
    `epistemic_variance` split its variance between them.

    Args:
        distribution: A `likely.distributions.Normal` or `MixtureNormal`.
        num_members: Number of members M: the mixture's K components are M
            consecutive groups of K / M (default 1: a single network, whose
            epistemic variance is zero).

    Example:
        >>> import numpy as np, likely
        >>> p = likely.Predictive(likely.distributions.Normal(np.zeros(3), np.ones(3)))
        >>> lo, hi = p.interval(0.68)
        >>> np.round(hi, 3)
        array([0.994, 0.994, 0.994], dtype=float32)
        >>> two = likely.distributions.MixtureNormal(np.zeros((1, 2)), [[-1.0, 1.0]], [[1.0, 1.0]])
        >>> p = likely.Predictive(two, num_members=2)
        >>> p.variance, p.aleatoric_variance, p.epistemic_variance
        (array([2.], dtype=float32), array([1.], dtype=float32), array([1.], dtype=float32))
    """

    def __init__(self, distribution: Distribution, *, num_members: int = 1) -> None:
        if not isinstance(distribution, Normal | MixtureNormal):
            raise TypeError(
                "Argument `distribution` must be a likely distribution (Normal or "
                f"MixtureNormal). Received: {type(distribution).__name__}."
            )
        if (
            isinstance(num_members, bool)
            or not isinstance(num_members, int | np.integer)
            or num_members < 1
        ):
            raise ValueError(
                "Argument `num_members` must be a positive integer. "
                f"Received: num_members={num_members!r}"
            )
        components = distribution.num_components if isinstance(distribution, MixtureNormal) else 1
        if components % num_members:
            raise ValueError(
                f"Argument `num_members` must divide the number of mixture components "
                f"({components}) into equal groups. Received: num_members={num_members}."
            )
        self.distribution = distribution
        self.num_members = int(num_members)

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return self.distribution.batch_shape

    @property
    def event_shape(self) -> tuple[int, ...]:
        return self.distribution.event_shape

    def __len__(self) -> int:
        return self.batch_shape[0] if self.batch_shape else 1

    def __repr__(self) -> str:
        members = f", num_members={self.num_members}" if self.num_members > 1 else ""
        return f"Predictive({self.distribution!r}{members})"

    # -- summaries --------------------------------------------------------------
    @property
    def mean(self) -> np.ndarray:
        return _numpy(self.distribution.mean)

    @property
    def variance(self) -> np.ndarray:
        return _numpy(self.distribution.variance)

    @property
    def stddev(self) -> np.ndarray:
        return np.sqrt(self.variance)

    @property
    def aleatoric_variance(self) -> np.ndarray:
        """Mean of the members' predictive variances: the noise the members agree on.

        With member weights `pi_m` (equal for ensembles and Monte-Carlo passes),
        member means `mu_m` and variances `s2_m`: `sum_m pi_m s2_m`.
        """
        weights, means, variances = self._member_moments()
        return self._as_output(np.sum(weights[..., None] * variances, axis=-2))

    @property
    def epistemic_variance(self) -> np.ndarray:
        """Variance of the members' means: how much the members disagree.

        `sum_m pi_m (mu_m - mu)^2` with `mu = sum_m pi_m mu_m`; zero for a
        single member. `aleatoric_variance + epistemic_variance == variance`
        (law of total variance).
        """
        weights, means, _ = self._member_moments()
        mean = np.sum(weights[..., None] * means, axis=-2, keepdims=True)
        return self._as_output(np.sum(weights[..., None] * np.square(means - mean), axis=-2))

    def _member_moments(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Member weights (*b, M) and member means and variances (*b, M, E), in float64."""
        d = self.distribution
        if isinstance(d, Normal):
            shape = d.batch_shape
            loc = np.broadcast_to(_numpy(d.loc).astype(np.float64), shape)[..., None, None]
            scale = np.broadcast_to(_numpy(d.scale).astype(np.float64), shape)[..., None, None]
            log_w = np.zeros(shape + (1,))
        else:
            shape = d.batch_shape
            component = (d.num_components, d._event_size)
            log_w = np.broadcast_to(_numpy(d.log_weights), shape + component[:1])  # (*b, K)
            loc = np.broadcast_to(_numpy(d.loc), shape + component)  # (*b, K, E)
            scale = np.broadcast_to(_numpy(d.scale), shape + component)
            log_w, loc, scale = (a.astype(np.float64) for a in (log_w, loc, scale))
        m = self.num_members
        k = log_w.shape[-1] // m
        log_w = log_w.reshape(shape + (m, k))
        loc = loc.reshape(shape + (m, k, loc.shape[-1]))
        scale = scale.reshape(loc.shape)
        log_member = logsumexp(log_w, axis=-1, keepdims=True)  # (*b, M, 1)
        within = np.exp(log_w - log_member)[..., None]  # (*b, M, K, 1)
        means = np.sum(within * loc, axis=-2)  # (*b, M, E)
        variances = np.sum(within * (np.square(scale) + np.square(loc - means[..., None, :])), -2)
        weights = np.exp(log_member[..., 0])
        return weights / np.sum(weights, axis=-1, keepdims=True), means, variances

    def _as_output(self, value: np.ndarray) -> np.ndarray:
        """(*b, E) float64 -> the event layout and float dtype of `variance`."""
        if not self.event_shape:
            value = value[..., 0]
        return value.astype(keras.backend.floatx())

    @property
    def mode(self) -> np.ndarray:
        """The highest mode of the density (for vector events, of the joint density)."""
        return _numpy(self.distribution.mode)

    def quantile(self, q: Any) -> np.ndarray:
        """Quantile(s) at probability `q` (a scalar, or an array broadcasting to the batch)."""
        return _numpy(self.distribution.quantile(_check_probability("q", q)))

    def quantiles(self, levels: Any) -> np.ndarray:
        """Quantiles at several `levels`, stacked on a last axis: shape (*batch, L)."""
        levels = np.atleast_1d(_check_probability("levels", levels))
        levels = levels.reshape(levels.shape + (1,) * len(self.batch_shape + self.event_shape))
        return np.moveaxis(self.quantile(levels), 0, -1)

    def interval(self, level: float = 0.68) -> tuple[np.ndarray, np.ndarray]:
        """Central interval holding probability `level`: (lower, upper) quantiles."""
        level = float(level)
        if not 0.0 < level < 1.0:
            raise ValueError(f"Argument `level` must be in (0, 1). Received: level={level!r}")
        return self.quantile(0.5 - level / 2), self.quantile(0.5 + level / 2)

    # -- densities ----------------------------------------------------------------
    def log_prob(self, y: Any) -> np.ndarray:
        return _numpy(self.distribution.log_prob(_check_values("y", y)))

    def pdf(self, y: Any) -> np.ndarray:
        return np.exp(self.log_prob(y))

    def cdf(self, y: Any) -> np.ndarray:
        return _numpy(self.distribution.cdf(_check_values("y", y)))

    def sample(self, n: int = 1, seed: int | None = None) -> np.ndarray:
        """`n` draws per object, shape (n, *batch, *event)."""
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise ValueError(f"Argument `n` must be a positive integer. Received: n={n!r}")
        return _numpy(self.distribution.sample((int(n),), seed=seed))


def _check_probability(name: str, q: Any) -> np.ndarray:
    q = np.asarray(q, dtype=float)
    if np.isnan(q).any() or (q < 0).any() or (q > 1).any():
        raise ValueError(f"Argument `{name}` must hold probabilities in [0, 1]. Received: {q!r}")
    return q


def _check_values(name: str, y: Any) -> np.ndarray:
    y = np.asarray(y)
    if not np.issubdtype(y.dtype, np.number):
        raise TypeError(f"Argument `{name}` must be numeric. Received dtype {y.dtype}.")
    return y


def _head_output_check(model: keras.Model) -> None:
    from likely.layers import IndependentNormal, MixtureNormal

    last = model.layers[-1] if getattr(model, "layers", None) else None
    output_shape = getattr(model, "output_shape", None)
    if isinstance(last, IndependentNormal | MixtureNormal):
        return
    if output_shape is not None and len(output_shape) >= 3:
        event_size_of(keras.KerasTensor(output_shape))  # raises a clear error if not packed
        return
    raise TypeError(
        "predict_distribution needs a model whose last layer is a likely head "
        "(likely.layers.IndependentNormal or likely.layers.MixtureNormal). Received a model "
        f"whose last layer is {type(last).__name__} with output shape {output_shape}."
    )


def predict_distribution(
    model: keras.Model,
    x: Any,
    batch_size: int | None = None,
    *,
    n_samples: int | None = None,
    seed: int | None = None,
) -> Predictive:
    """Runs `model` on `x` and returns its predictive distribution.

    Deterministic models are run once; ensembles (output `(batch, M, K, 1 + 2E)`)
    become the equal-weight mixture of their M members. Stochastic models
    (with `likely.layers.DenseVariational`, `DenseFlipout` or `MCDropout`,
    which sample in every forward pass) are run `n_samples` times and become
    the equal-weight mixture of the passes. Either way the result knows its
    members, so `aleatoric_variance` and `epistemic_variance` split its
    variance.

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

    Returns:
        A `Predictive` with batch shape `(n,)` and `num_members` M (ensembles),
        S (stochastic models), S * M (stochastic ensembles) or 1.

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
    _head_output_check(model)
    batch_size = batch_size or DEFAULT_PREDICT_BATCH_SIZE
    generators = _seed_generators(model) if is_stochastic(model) else []
    if not generators:
        if n_samples is not None:
            raise ValueError(
                "Argument `n_samples` is for stochastic models (with DenseVariational, "
                "DenseFlipout or MCDropout layers); this model is deterministic, and one pass "
                f"gives its predictive. Received: n_samples={n_samples!r}."
            )
        return _predictive_from_params(model.predict(x, batch_size=batch_size, verbose=0))
    n_samples = DEFAULT_N_SAMPLES if n_samples is None else n_samples
    if isinstance(n_samples, bool) or not isinstance(n_samples, int | np.integer) or n_samples < 1:
        raise ValueError(
            f"Argument `n_samples` must be a positive integer. Received: n_samples={n_samples!r}"
        )
    with _reseeded(generators, seed):
        passes = [_one_pass(model, x, batch_size) for _ in range(n_samples)]
    params = np.stack(passes, axis=1)  # (n, S, K, P) or (n, S, M, K, P)
    if params.ndim == 5:
        params = params.reshape(params.shape[0], -1, *params.shape[3:])
    return _predictive_from_params(params)


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


def _predictive_from_params(params: np.ndarray) -> Predictive:
    num_members = params.shape[1] if params.ndim == 4 else 1
    return Predictive(distribution_from_params(params), num_members=num_members)


def is_stochastic(model: keras.Layer) -> bool:
    """Whether `model` samples in every forward pass (Bayesian or MC-dropout layers).

    Such models need `predict_distribution(model, x, n_samples=..., seed=...)`.

    Example:
        >>> import keras, likely
        >>> likely.models.is_stochastic(keras.Sequential([likely.layers.MCDropout(0.1)]))
        True
        >>> likely.models.is_stochastic(keras.Sequential([keras.layers.Dropout(0.1)]))
        False
    """
    from likely.layers import MCDropout
    from likely.layers._variational import _MeanFieldDense

    for layer in _all_layers(model):
        if isinstance(layer, _MeanFieldDense):
            return True
        if isinstance(layer, MCDropout) and layer.rate > 0:
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
    saved = [_numpy(g.state.value) for g in generators]
    try:
        for generator, s in zip(generators, seeds, strict=True):
            _set_state(generator, np.array([int(s), 0]))
        yield
    finally:
        for generator, state in zip(generators, saved, strict=True):
            _set_state(generator, state)


def _set_state(generator: keras.random.SeedGenerator, state: np.ndarray) -> None:
    generator.state.assign(ops.convert_to_tensor(state, dtype=generator.state.dtype))


def distribution_from_params(params: Any) -> MixtureNormal:
    """Packed head output -> mixture over the first axis; members are flattened into K.

    Ensemble outputs `(n, M, K, P)` become a mixture of M*K components with
    weights `w_mk / M`.
    """
    params = np.asarray(params)
    if params.ndim == 4:
        n, m, k, p = params.shape
        logits = params[..., 0]
        log_w = logits - logsumexp(logits, axis=-1, keepdims=True) - math.log(m)
        params = np.concatenate([log_w[..., None], params[..., 1:]], axis=-1).reshape(n, m * k, p)
    if params.ndim != 3:
        raise ValueError(
            "Expected a packed head output of shape (n, K, 1 + 2E) or, for an ensemble, "
            f"(n, M, K, 1 + 2E). Received: shape {params.shape}."
        )
    return unpack_params(params, validate_args=True)
