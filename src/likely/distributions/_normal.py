"""The normal distribution, written once with `keras.ops`."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from likely.distributions import _base


class Normal:
    """Normal (Gaussian) distribution with location `loc` and scale `scale`.

    Parameters broadcast against each other; the result has
    `batch_shape = broadcast(loc.shape, scale.shape)` and `event_shape = ()`.
    All methods take and return backend tensors (`keras.ops`), so the class
    works inside a loss on every Keras backend and on NumPy input.

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

    def __init__(self, loc: Any, scale: Any, *, validate_args: bool = True) -> None:
        self.loc = _base.as_float_tensor(loc)
        self.scale = _base.as_float_tensor(scale)
        self._batch_shape = _base.broadcast_shapes(loc=self.loc.shape, scale=self.scale.shape)
        if validate_args:
            _base.check_finite("loc", self.loc)
            _base.check_positive("scale", self.scale)

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return self._batch_shape

    @property
    def event_shape(self) -> tuple[int, ...]:
        return ()

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

    def log_prob(self, value: Any) -> Any:
        """Log density at `value` (broadcast against the batch shape)."""
        value = _base.as_float_tensor(value)
        return _base.normal_log_pdf((value - self.loc) / self.scale, self.scale)

    def prob(self, value: Any) -> Any:
        """Density at `value`."""
        return ops.exp(self.log_prob(value))

    def cdf(self, value: Any) -> Any:
        """Cumulative distribution function at `value`."""
        value = _base.as_float_tensor(value)
        return _base.normal_cdf((value - self.loc) / self.scale)

    def quantile(self, q: Any) -> Any:
        """Inverse CDF at probability `q` in [0, 1] (-inf at 0, +inf at 1)."""
        q = _base.as_float_tensor(q)
        return self.loc + self.scale * _base.normal_quantile(q)

    def sample(
        self, sample_shape: int | tuple[int, ...] = (), seed: _base.SeedLike = None
    ) -> Any:
        """Draws samples of shape `sample_shape + batch_shape`."""
        shape = _base.as_shape(sample_shape) + self.batch_shape
        eps = keras.random.normal(shape, seed=_base.seed_generator(seed))
        return self.loc + self.scale * eps

    def __repr__(self) -> str:
        return f"Normal(batch_shape={self.batch_shape}, event_shape={self.event_shape})"
