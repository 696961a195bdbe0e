"""`Independent`: the last batch axes of a distribution reinterpreted as event axes."""

from __future__ import annotations

from typing import Any

from keras import ops

from likely.distributions import _base
from likely.distributions._distribution import Distribution


class Independent(Distribution):
    """Independent event dimensions: `base`'s last batch axis becomes the event axis.

    As in `torch.distributions.Independent(base, 1)`: with `base.batch_shape
    = (*b, E)` the result has `batch_shape = (*b,)` and `event_shape = (E,)`;
    `log_prob` sums over the E dimensions (the joint density of independent
    coordinates), while `cdf`, `quantile` and `marginal_prob` are per
    dimension (the marginals). This is what the heads `IndependentNormal(E)`,
    `IndependentStudentT(E)`, `IndependentLogNormal(E)` and
    `IndependentBernoulli(E)` return for E > 1.

    Args:
        base: A scalar-event distribution with at least one batch axis.
        reinterpreted_batch_ndims: Must be 1.
        validate_args: Unused (the base validated its parameters).

    Example:
        >>> import numpy as np
        >>> from likely.distributions import Independent, Normal
        >>> d = Independent(Normal(np.zeros((4, 2)), np.ones((4, 2))), 1)
        >>> d.batch_shape, d.event_shape, np.asarray(d.log_prob(np.zeros((4, 2)))).shape
        ((4,), (2,), (4,))
    """

    def __init__(
        self, base: Distribution, reinterpreted_batch_ndims: int = 1, *, validate_args: bool = True
    ) -> None:
        if not isinstance(base, Distribution):
            raise TypeError(
                f"Argument `base` must be a likely distribution. Received: {type(base).__name__}"
            )
        if reinterpreted_batch_ndims != 1 or base.event_shape or not base.batch_shape:
            raise ValueError(
                "Independent reinterprets the last batch axis of a scalar-event distribution: "
                f"reinterpreted_batch_ndims must be 1. Received: {reinterpreted_batch_ndims} for "
                f"a base with batch_shape {base.batch_shape} and event_shape {base.event_shape}."
            )
        self.base = base
        self.support = base.support
        self._init_shapes(base.batch_shape[:-1], base.batch_shape[-1:])

    def parameters(self) -> dict[str, Any]:
        return {"base": self.base}

    def _param_event_ndims(self) -> dict[str, int]:
        return {"base": 1}

    def _static_kwargs(self) -> dict[str, Any]:
        return {"reinterpreted_batch_ndims": 1}

    @property
    def mean(self) -> Any:
        return self.base.mean

    @property
    def variance(self) -> Any:
        return self.base.variance

    @property
    def stddev(self) -> Any:
        return self.base.stddev

    @property
    def mode(self) -> Any:
        return self.base.mode

    def log_prob(self, value: Any) -> Any:
        return ops.sum(self.base.log_prob(_base.as_float_tensor(value)), axis=-1)

    def cdf(self, value: Any) -> Any:
        return self.base.cdf(value)

    def survival_function(self, value: Any) -> Any:
        return self.base.survival_function(value)

    def marginal_prob(self, value: Any) -> Any:
        return self.base.prob(value)

    def quantile(self, q: Any) -> Any:
        return self.base.quantile(q)

    def sample(self, sample_shape: int | tuple[int, ...] = (), seed: _base.SeedLike = None) -> Any:
        return self.base.sample(sample_shape, seed=seed)

    def __repr__(self) -> str:
        return f"Independent({self.base!r}, 1)"
