"""The Laplace distribution: a sharp peak and exponential tails (robust regression, median fits)."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from likely.distributions import _base
from likely.distributions import _constraints as constraints
from likely.distributions._location_scale import LocationScale
from likely.distributions._registry import register_family


@register_family("laplace")
class Laplace(LocationScale):
    """Laplace distribution: `p(y) = exp(-|y - loc| / scale) / (2 scale)`.

    As scipy's `laplace(loc, scale)`: mean, median and mode `loc`, variance
    `2 scale^2`. Its NLL is the absolute error divided by the scale (plus
    `log 2 scale`), so a Laplace head fits the conditional median. The
    quantiles are closed-form on each side of the median and stay accurate
    in both tails (`loc + scale log 2q` below it).

    As a head's family (`likely.models.mlp(head="laplace")`, or
    `likely.layers.DistributionHead("laplace", event_size=E)`) it takes
    `params_size(E) = 2E` numbers: E locations, then E scales mapped through
    `softplus(x) + min_scale`.

    Args:
        loc: Location (mean, median and mode).
        scale: Scale, > 0.
        validate_args: Check concrete parameters.

    Example:
        >>> import numpy as np
        >>> from likely.distributions import Laplace
        >>> d = Laplace(loc=np.zeros(2), scale=np.array([1.0, 2.0]))
        >>> np.asarray(d.variance), np.round(np.asarray(d.quantile(0.25)), 4)
        (array([2., 8.], dtype=float32), array([-0.6931, -1.3863], dtype=float32))
    """

    support = constraints.real

    @property
    def mean(self) -> Any:
        return self._full(self.loc)

    @property
    def variance(self) -> Any:
        return self._full(2.0 * ops.square(self.scale))

    @property
    def mode(self) -> Any:
        return self._full(self.loc)

    def _z(self, value: Any) -> Any:
        return (_base.as_float_tensor(value) - self.loc) / self.scale

    def log_prob(self, value: Any) -> Any:
        return -ops.abs(self._z(value)) - ops.log(2.0 * self.scale)

    def cdf(self, value: Any) -> Any:
        z = self._z(value)
        return ops.where(z < 0.0, 0.5 * ops.exp(ops.minimum(z, 0.0)),
                         -0.5 * ops.expm1(-ops.maximum(z, 0.0)) + 0.5)  # fmt: skip

    def survival_function(self, value: Any) -> Any:
        z = self._z(value)
        return ops.where(z > 0.0, 0.5 * ops.exp(-ops.maximum(z, 0.0)),
                         -0.5 * ops.expm1(ops.minimum(z, 0.0)) + 0.5)  # fmt: skip

    def quantile(self, q: Any) -> Any:
        """`loc + scale log 2q` below the median, `loc - scale log 2(1 - q)` above it.

        The smaller tail probability is taken in float64 for NumPy input, so
        levels such as `1 - 1e-12` keep their accuracy.
        """
        p, upper = _base.tail_probability(q)
        offset = self.scale * ops.log(2.0 * p)
        return ops.where(upper, self.loc - offset, self.loc + offset)

    def sample(self, sample_shape: int | tuple[int, ...] = (), seed: _base.SeedLike = None) -> Any:
        shape = _base.as_shape(sample_shape) + self.batch_shape
        u = keras.random.uniform(shape, minval=-0.5, maxval=0.5, seed=_base.seed_generator(seed))
        return self.loc - self.scale * ops.sign(u) * ops.log1p(-2.0 * ops.abs(u))

    def _affine(self, shift: Any, scale: Any) -> Laplace:
        return Laplace(shift + scale * self.loc, scale * self.scale, validate_args=False)

    def crps_closed_form(self, y: np.ndarray) -> np.ndarray:
        """The Laplace CRPS, through scoringrules' `crps_laplace`."""
        import scoringrules

        loc, scale = _base.float64_batch(self.batch_shape, self.loc, self.scale)
        return np.asarray(scoringrules.crps_laplace(y, loc, scale, backend="numpy"))
