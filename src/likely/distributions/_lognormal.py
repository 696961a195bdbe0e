"""The log-normal distribution: positive targets (redshifts, prices, fluxes)."""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
from keras import ops

from likely.distributions import _base
from likely.distributions import _constraints as constraints
from likely.distributions._location_scale import LocationScale
from likely.distributions._registry import register_family


@register_family("lognormal")
class LogNormal(LocationScale):
    """Log-normal distribution: `log Y ~ Normal(loc, scale)`; all mass on y > 0.

    The parameters are those of `log y`, as in scipy's
    `lognorm(s=scale, scale=exp(loc))`: median `exp(loc)`,
    `mean = exp(loc + scale^2/2)`, `mode = exp(loc - scale^2)`,
    `variance = (exp(scale^2) - 1) exp(2 loc + scale^2)`. The density, CDF and
    log density are 0, 0 and -inf at y <= 0.

    As a head's family (`likely.layers.IndependentLogNormal(E)`) it takes
    `params_size(E) = 2E` numbers: E locations of log y, then E scales mapped
    through `softplus(x) + min_scale`.

    Args:
        loc: Mean of log y.
        scale: Standard deviation of log y, > 0.
        validate_args: Check concrete parameters.

    Example:
        >>> import numpy as np
        >>> from likely.distributions import LogNormal
        >>> d = LogNormal(loc=np.zeros(2), scale=np.array([0.5, 1.0]))
        >>> np.round(np.asarray(d.quantile(0.5)), 4), np.asarray(d.cdf(np.array([-1.0, 0.0])))
        (array([1., 1.], dtype=float32), array([0., 0.], dtype=float32))
    """

    support = constraints.positive

    @property
    def mean(self) -> Any:
        return self._full(ops.exp(self.loc + 0.5 * ops.square(self.scale)))

    @property
    def variance(self) -> Any:
        s2 = ops.square(self.scale)
        return self._full(ops.expm1(s2) * ops.exp(2.0 * self.loc + s2))

    @property
    def mode(self) -> Any:
        return self._full(ops.exp(self.loc - ops.square(self.scale)))

    def _z(self, value: Any) -> tuple[Any, Any]:
        """(log y - loc) / scale where y > 0, and the mask y > 0."""
        value = _base.as_float_tensor(value)
        positive = value > 0.0
        log_value = ops.log(ops.where(positive, value, 1.0))
        return (log_value - self.loc) / self.scale, positive

    def log_prob(self, value: Any) -> Any:
        z, positive = self._z(value)
        log_value = z * self.scale + self.loc
        density = _base.normal_log_pdf(z, self.scale) - log_value
        return ops.where(positive, density, -math.inf)

    def cdf(self, value: Any) -> Any:
        z, positive = self._z(value)
        return ops.where(positive, _base.normal_cdf(z), 0.0)

    def survival_function(self, value: Any) -> Any:
        z, positive = self._z(value)
        return ops.where(positive, _base.normal_cdf(-z), 1.0)

    def quantile(self, q: Any) -> Any:
        return ops.exp(self.loc + self.scale * _base.normal_quantile(q))

    def sample(self, sample_shape: int | tuple[int, ...] = (), seed: _base.SeedLike = None) -> Any:
        shape = _base.as_shape(sample_shape) + self.batch_shape
        return ops.exp(
            self.loc + self.scale * keras.random.normal(shape, seed=_base.seed_generator(seed))
        )

    def crps_closed_form(self, y: np.ndarray) -> np.ndarray:
        """Baran & Lerch (2015), through scoringrules' `crps_lognormal`."""
        import scoringrules

        loc, scale = _base.float64_batch(self.batch_shape, self.loc, self.scale)
        return np.asarray(scoringrules.crps_lognormal(y, loc, scale, backend="numpy"))
