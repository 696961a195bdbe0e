"""`Predictive`: a predictive distribution with NumPy results, and `predict_distribution`."""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
from keras import ops
from scipy.special import logsumexp

from likely.distributions import MixtureNormal, Normal, unpack_params
from likely.distributions._packed import event_size_of

DEFAULT_PREDICT_BATCH_SIZE = 4096
"""Keras' own default (32) is 5-10x slower for these small MLPs on CPU."""

_MODE_STEPS = 30

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

    Args:
        distribution: A `likely.distributions.Normal` or `MixtureNormal`.

    Example:
        >>> import numpy as np, likely
        >>> p = likely.Predictive(likely.distributions.Normal(np.zeros(3), np.ones(3)))
        >>> lo, hi = p.interval(0.68)
        >>> np.round(hi, 3)
        array([0.994, 0.994, 0.994], dtype=float32)
    """

    def __init__(self, distribution: Distribution) -> None:
        if not isinstance(distribution, Normal | MixtureNormal):
            raise TypeError(
                "Argument `distribution` must be a likely distribution (Normal or "
                f"MixtureNormal). Received: {type(distribution).__name__}."
            )
        self.distribution = distribution

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return self.distribution.batch_shape

    @property
    def event_shape(self) -> tuple[int, ...]:
        return self.distribution.event_shape

    def __len__(self) -> int:
        return self.batch_shape[0] if self.batch_shape else 1

    def __repr__(self) -> str:
        return f"Predictive({self.distribution!r})"

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
    def mode(self) -> np.ndarray:
        """The highest mode of the density (for vector events, of the joint density).

        For mixtures: start from the component location with the highest
        density, then climb with mean-shift fixed-point steps, which increase
        the density monotonically for normal mixtures.
        """
        d = self.distribution
        if isinstance(d, Normal):
            return _numpy(d.mean)
        loc = d.loc  # (*b, K, E)
        inv_var = 1.0 / ops.square(d.scale)
        # Density of the mixture at each component's location: (*b, K).
        at_locs = ops.stack(
            [d.log_prob(d._to_event(loc[..., k, :])) for k in range(d.num_components)], axis=-1
        )
        best = ops.argmax(at_locs, axis=-1)
        x = ops.sum(ops.expand_dims(ops.one_hot(best, d.num_components), -1) * loc, axis=-2)
        for _ in range(_MODE_STEPS):
            log_r = d.log_weights + d.component_log_prob(d._to_event(x))  # (*b, K)
            r = ops.expand_dims(ops.softmax(log_r, axis=-1), -1) * inv_var  # (*b, K, E)
            x = ops.sum(r * loc, axis=-2) / ops.sum(r, axis=-2)
        return _numpy(d._to_event(x))

    def quantile(self, q: Any) -> np.ndarray:
        """Quantile(s) at probability `q` (a scalar, or an array broadcasting to the batch)."""
        return _numpy(self.distribution.quantile(_check_probability("q", q)))

    def quantiles(self, levels: Any) -> np.ndarray:
        """Quantiles at several `levels`, stacked on a last axis: shape (*batch, L)."""
        levels = np.atleast_1d(_check_probability("levels", levels))
        return np.stack([self.quantile(q) for q in levels], axis=-1)

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


def predict_distribution(model: keras.Model, x: Any, batch_size: int | None = None) -> Predictive:
    """Runs `model` on `x` and returns its predictive distribution.

    Args:
        model: A Keras model ending in a likely head; ensembles (output
            `(batch, M, K, 1 + 2E)`) become the equal-weight mixture of members.
        x: Model inputs.
        batch_size: Prediction batch size; defaults to 4096 (Keras' own 32 is
            much slower for small networks).

    Returns:
        A `Predictive` with batch shape `(n,)`.

    Example:
        >>> import keras, numpy as np, likely
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2),
        ...                           likely.layers.IndependentNormal(1)])
        >>> likely.predict_distribution(model, np.zeros((5, 2))).mean.shape
        (5,)
    """
    _head_output_check(model)
    params = model.predict(x, batch_size=batch_size or DEFAULT_PREDICT_BATCH_SIZE, verbose=0)
    return Predictive(distribution_from_params(params))


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
        params = np.concatenate([log_w[..., None], params[..., 1:]], axis=-1).reshape(
            n, m * k, p
        )
    if params.ndim != 3:
        raise ValueError(
            "Expected a packed head output of shape (n, K, 1 + 2E) or, for an ensemble, "
            f"(n, M, K, 1 + 2E). Received: shape {params.shape}."
        )
    return unpack_params(params, validate_args=True)
