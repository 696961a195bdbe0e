"""The normal distribution, written once with `keras.ops`."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from likely.distributions import _base
from likely.distributions import _constraints as constraints
from likely.distributions._distribution import Distribution
from likely.distributions._registry import register_family


@register_family("normal")
class Normal(Distribution):
    """Normal (Gaussian) distribution with location `loc` and scale `scale`.

    Parameters broadcast against each other; the result has
    `batch_shape = broadcast(loc.shape, scale.shape)` and `event_shape = ()`.
    All methods take and return backend tensors (`keras.ops`), so the class
    works inside a loss on every Keras backend and on NumPy input.

    As a head's family (`likely.layers.IndependentNormal(E)`), it takes
    `params_size(E) = 2E` numbers: E locations, then E scales mapped through
    `softplus(x) + min_scale`; E > 1 gives `Independent(Normal, 1)`.

    Args:
        loc: Mean of the distribution.
        scale: Standard deviation, strictly positive.
        validate_args: Check that concrete parameters are finite and `scale > 0`.
            Checks are skipped on traced values (inside a jitted step).

    Example:
        >>> import numpy as np
        >>> from likely.distributions import Normal
        >>> d = Normal(loc=np.array([0.0, 1.0]), scale=np.array([1.0, 2.0]))
        >>> d.batch_shape, d.event_shape
        ((2,), ())
        >>> np.round(np.asarray(d.cdf(np.array([0.0, 1.0]))), 3)
        array([0.5, 0.5], dtype=float32)
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real

    def __init__(self, loc: Any, scale: Any, *, validate_args: bool = True) -> None:
        self.loc = _base.as_float_tensor(loc)
        self.scale = _base.as_float_tensor(scale)
        self._init_shapes(_base.broadcast_shapes(loc=self.loc.shape, scale=self.scale.shape), ())
        if validate_args:
            self._validate(loc=self.loc, scale=self.scale)

    # -- the head protocol ----------------------------------------------------------
    @classmethod
    def params_size(cls, event_size: int = 1, **_: Any) -> int:
        """E locations and E scales."""
        return 2 * _base.check_positive_int("event_size", event_size)

    @classmethod
    def check_options(
        cls, event_size: int = 1, min_scale: float = _base.DEFAULT_MIN_SCALE
    ) -> dict[str, Any]:
        return {
            "event_size": _base.check_positive_int("event_size", event_size),
            "min_scale": _base.check_min_scale(min_scale),
        }

    @classmethod
    def from_unconstrained(
        cls, params: Any, event_size: int = 1, min_scale: float = _base.DEFAULT_MIN_SCALE
    ) -> Distribution:
        from likely.distributions._independent import Independent

        params = _base.as_float_tensor(params)
        _base.check_params_width("normal", params, cls.params_size(event_size))
        loc = params[..., :event_size]
        scale = _base.positive_scale(params[..., event_size:], min_scale)
        if event_size == 1:
            return cls(loc[..., 0], scale[..., 0], validate_args=False)
        return Independent(cls(loc, scale, validate_args=False), 1)

    def parameters(self) -> dict[str, Any]:
        return {"loc": self.loc, "scale": self.scale}

    def _param_event_ndims(self) -> dict[str, int]:
        return {"loc": 0, "scale": 0}

    # -- moments --------------------------------------------------------------------
    @property
    def mean(self) -> Any:
        return ops.broadcast_to(self.loc, self.batch_shape)

    @property
    def variance(self) -> Any:
        return ops.broadcast_to(ops.square(self.scale), self.batch_shape)

    @property
    def stddev(self) -> Any:
        return ops.broadcast_to(self.scale, self.batch_shape)

    @property
    def mode(self) -> Any:
        return self.mean

    # -- densities --------------------------------------------------------------------
    def log_prob(self, value: Any) -> Any:
        """Log density at `value` (broadcast against the batch shape)."""
        value = _base.as_float_tensor(value)
        return _base.normal_log_pdf((value - self.loc) / self.scale, self.scale)

    def cdf(self, value: Any) -> Any:
        """Cumulative distribution function at `value`."""
        value = _base.as_float_tensor(value)
        return _base.normal_cdf((value - self.loc) / self.scale)

    def survival_function(self, value: Any) -> Any:
        value = _base.as_float_tensor(value)
        return _base.normal_cdf((self.loc - value) / self.scale)

    def quantile(self, q: Any) -> Any:
        """Inverse CDF at probability `q` in [0, 1] (-inf at 0, +inf at 1)."""
        return self.loc + self.scale * _base.normal_quantile(q)

    def sample(self, sample_shape: int | tuple[int, ...] = (), seed: _base.SeedLike = None) -> Any:
        """Draws samples of shape `sample_shape + batch_shape`."""
        shape = _base.as_shape(sample_shape) + self.batch_shape
        eps = keras.random.normal(shape, seed=_base.seed_generator(seed))
        return self.loc + self.scale * eps

    def _affine(self, shift: Any, scale: Any) -> Normal:
        return Normal(shift + scale * self.loc, scale * self.scale, validate_args=False)

    def crps_closed_form(self, y: np.ndarray) -> np.ndarray:
        """Gneiting et al. (2005), `sigma [z (2 Phi(z) - 1) + 2 phi(z) - 1/sqrt(pi)]`."""
        import scoringrules

        loc, scale = _base.float64_batch(self.batch_shape, self.loc, self.scale)
        return np.asarray(scoringrules.crps_normal(y, loc, scale, backend="numpy"))
