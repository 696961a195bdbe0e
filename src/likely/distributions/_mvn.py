"""The multivariate normal with a Cholesky-factor scale: jointly predicted, correlated targets."""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
from keras import ops

from likely.distributions import _base
from likely.distributions import _constraints as constraints
from likely.distributions._distribution import Distribution
from likely.distributions._registry import register_family


def _tril_indices(event_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Where each entry of an (E, E) lower triangle sits in the packed row-by-row vector.

    Returns `(index, diagonal)`: `index` (E, E) holds positions in a vector of
    E(E+1)/2 entries followed by one zero (position E(E+1)/2, for the upper
    triangle); `diagonal` (E,) the positions of the diagonal entries.
    """
    size = event_size * (event_size + 1) // 2
    index = np.full((event_size, event_size), size, dtype="int32")
    position = 0
    for row in range(event_size):
        for col in range(row + 1):
            index[row, col] = position
            position += 1
    return index, np.diagonal(index).copy()


@register_family("mvn_tril")
class MultivariateNormalTriL(Distribution):
    """Multivariate normal `N(loc, scale_tril scale_tril^T)` over E correlated dimensions.

    `loc` has shape `(*batch, E)`, `scale_tril` `(*batch, E, E)`: a lower
    triangular Cholesky factor with a positive diagonal, so the covariance
    `scale_tril @ scale_tril^T` is positive definite. `log_prob` is the joint
    density (by forward substitution); `cdf`, `quantile` and `marginal_prob`
    are per-dimension marginals, `variance` the diagonal of `covariance`.

    As a head's family (`likely.layers.MultivariateNormalTriL(E)`) it takes
    `params_size(E) = E + E(E+1)/2` numbers: E locations, then the lower
    triangle row by row (L00, L10, L11, L20, ...), diagonal entries mapped
    through `softplus(x) + min_scale`.

    Args:
        loc: Means, shape (*batch, E).
        scale_tril: Cholesky factors, shape (*batch, E, E).
        validate_args: Check concrete parameters.

    Example:
        >>> import numpy as np
        >>> from likely.distributions import MultivariateNormalTriL
        >>> d = MultivariateNormalTriL(np.zeros((1, 2)), [[[1.0, 0.0], [0.6, 0.8]]])
        >>> np.round(np.asarray(d.covariance)[0], 2)
        array([[1. , 0.6],
               [0.6, 1. ]], dtype=float32)
    """

    arg_constraints = {"loc": constraints.real_vector, "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector

    def __init__(self, loc: Any, scale_tril: Any, *, validate_args: bool = True) -> None:
        self.loc = _base.as_float_tensor(loc)
        self.scale_tril = _base.as_float_tensor(scale_tril)
        if len(self.loc.shape) < 1 or len(self.scale_tril.shape) < 2:
            raise ValueError(
                "Arguments `loc` (*batch, E) and `scale_tril` (*batch, E, E) need event axes. "
                f"Received: loc shape {tuple(self.loc.shape)}, scale_tril shape "
                f"{tuple(self.scale_tril.shape)}."
            )
        e = self.loc.shape[-1]
        if tuple(self.scale_tril.shape[-2:]) != (e, e):
            raise ValueError(
                f"Argument `scale_tril` must end in ({e}, {e}) for a loc of event size {e}. "
                f"Received: scale_tril shape {tuple(self.scale_tril.shape)}."
            )
        batch = _base.broadcast_shapes(
            loc=self.loc.shape[:-1], scale_tril=self.scale_tril.shape[:-2]
        )
        self._init_shapes(batch, (e,))
        if validate_args:
            self._validate(loc=self.loc, scale_tril=self.scale_tril)

    @classmethod
    def params_size(cls, event_size: int = 2, **_: Any) -> int:
        """E locations and the E(E+1)/2 entries of the Cholesky factor."""
        e = _base.check_positive_int("event_size", event_size)
        return e + e * (e + 1) // 2

    @classmethod
    def check_options(
        cls, event_size: int = 2, min_scale: float = _base.DEFAULT_MIN_SCALE
    ) -> dict[str, Any]:
        return {
            "event_size": _base.check_positive_int("event_size", event_size),
            "min_scale": _base.check_min_scale(min_scale),
        }

    @classmethod
    def from_unconstrained(
        cls, params: Any, event_size: int = 2, min_scale: float = _base.DEFAULT_MIN_SCALE
    ) -> MultivariateNormalTriL:
        params = _base.as_float_tensor(params)
        e = event_size
        _base.check_params_width("mvn_tril", params, cls.params_size(e))
        index, diagonal = _tril_indices(e)
        raw = params[..., e:]
        is_diagonal = np.zeros(e * (e + 1) // 2, dtype=bool)
        is_diagonal[diagonal] = True
        mask = ops.convert_to_tensor(is_diagonal)
        entries = ops.where(mask, _base.positive_scale(raw, min_scale), raw)
        padded = ops.concatenate([entries, ops.zeros_like(entries[..., :1])], axis=-1)
        tril = ops.take(padded, ops.convert_to_tensor(index), axis=-1)  # (..., E, E)
        return cls(params[..., :e], tril, validate_args=False)

    def parameters(self) -> dict[str, Any]:
        return {"loc": self.loc, "scale_tril": self.scale_tril}

    def _param_event_ndims(self) -> dict[str, int]:
        return {"loc": 1, "scale_tril": 2}

    @property
    def _size(self) -> int:
        return int(self.event_shape[0])

    @property
    def covariance(self) -> Any:
        """scale_tril @ scale_tril^T, shape (*batch, E, E)."""
        tril = ops.broadcast_to(self.scale_tril, self.batch_shape + (self._size, self._size))
        return ops.matmul(tril, ops.swapaxes(tril, -1, -2))

    @property
    def correlation(self) -> Any:
        """The correlation matrix, shape (*batch, E, E)."""
        cov = self.covariance
        std = ops.sqrt(self.variance)
        return cov / (ops.expand_dims(std, -1) * ops.expand_dims(std, -2))

    @property
    def mean(self) -> Any:
        return ops.broadcast_to(self.loc, self.batch_shape + self.event_shape)

    @property
    def variance(self) -> Any:
        tril = ops.broadcast_to(self.scale_tril, self.batch_shape + (self._size, self._size))
        return ops.sum(ops.square(tril), axis=-1)

    @property
    def mode(self) -> Any:
        return self.mean

    def log_prob(self, value: Any) -> Any:
        """Joint log density, by forward substitution z = L^-1 (y - loc)."""
        diff = _base.as_float_tensor(value) - self.loc
        tril = self.scale_tril
        solved: list[Any] = []
        log_det = 0.0
        squares = 0.0
        for i in range(self._size):
            acc = diff[..., i]
            for j in range(i):
                acc = acc - tril[..., i, j] * solved[j]
            z = acc / tril[..., i, i]
            solved.append(z)
            squares = squares + ops.square(z)
            log_det = log_det + ops.log(tril[..., i, i])
        return -0.5 * squares - log_det - self._size * 0.5 * math.log(2.0 * math.pi)

    def _marginal_z(self, value: Any) -> tuple[Any, Any]:
        std = ops.sqrt(self.variance)
        return (_base.as_float_tensor(value) - self.loc) / std, std

    def cdf(self, value: Any) -> Any:
        return _base.normal_cdf(self._marginal_z(value)[0])

    def survival_function(self, value: Any) -> Any:
        return _base.normal_cdf(-self._marginal_z(value)[0])

    def marginal_prob(self, value: Any) -> Any:
        z, std = self._marginal_z(value)
        return ops.exp(_base.normal_log_pdf(z, std))

    def quantile(self, q: Any) -> Any:
        return self.loc + ops.sqrt(self.variance) * _base.normal_quantile(q)

    def _affine(self, shift: Any, scale: Any) -> MultivariateNormalTriL:
        scale = ops.broadcast_to(scale, self.event_shape) if len(scale.shape) <= 1 else scale
        return MultivariateNormalTriL(
            shift + scale * self.loc, ops.expand_dims(scale, -1) * self.scale_tril,
            validate_args=False,
        )  # fmt: skip

    def sample(self, sample_shape: int | tuple[int, ...] = (), seed: _base.SeedLike = None) -> Any:
        shape = _base.as_shape(sample_shape) + self.batch_shape + self.event_shape
        eps = keras.random.normal(shape, seed=_base.seed_generator(seed))
        return self.loc + ops.squeeze(ops.matmul(self.scale_tril, ops.expand_dims(eps, -1)), -1)
