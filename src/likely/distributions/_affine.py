"""Affine changes of variables `Y = shift + scale * X` of any continuous family."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from keras import ops

from likely.distributions import _base
from likely.distributions import _constraints as constraints
from likely.distributions._distribution import Distribution


def affine(distribution: Distribution, shift: Any = 0.0, scale: Any = 1.0) -> Distribution:
    """The distribution of `shift + scale * X` for X ~ `distribution` (scale > 0).

    Location-scale families stay in their family (a normal stays a normal,
    with the log density's Jacobian handled by the new scale); any other
    continuous family is wrapped in `AffineTransformed`. Discrete families
    cannot be shifted or scaled (their values are labels) and raise.

    `shift` and `scale` broadcast against `batch_shape + event_shape` (a
    scalar, one value per event dimension, or one per object).

    Example:
        >>> import numpy as np
        >>> from likely.distributions import Normal, StudentT, affine
        >>> np.asarray(affine(Normal(np.zeros(2), np.ones(2)), shift=5.0, scale=10.0).stddev)
        array([10., 10.], dtype=float32)
        >>> affine(StudentT(0.0, 1.0, 4.0), 1.0, 2.0)
        StudentT(batch_shape=(), event_shape=())
    """
    if distribution.support.discrete:
        raise TypeError(
            f"{type(distribution).__name__} is discrete: its values cannot be shifted or "
            "scaled (a target transform applies to continuous targets only)."
        )
    scale_array = _base.concrete_numpy(_base.as_float_tensor(scale))
    if scale_array is not None and not (np.isfinite(scale_array).all() and (scale_array > 0).all()):
        raise ValueError(f"Argument `scale` must be finite and > 0. Received: {scale!r}")
    own = distribution._affine(_base.as_float_tensor(shift), _base.as_float_tensor(scale))
    if own is not None:
        return own
    return AffineTransformed(distribution, shift, scale)


class AffineTransformed(Distribution):
    """The distribution of `shift + scale * X`, X ~ `base`, for any continuous family.

    `log_prob(y) = base.log_prob((y - shift) / scale) - sum log scale` (the
    Jacobian over the event dimensions), `cdf` and `quantile` map through the
    same change of variables, moments as `shift + scale * mean` and
    `scale^2 * variance`, and the CRPS scales with `scale` (it has the units
    of y). Bounds of the support move with the map.

    Args:
        base: A continuous likely distribution.
        shift: Added after scaling; broadcasts against batch + event shape.
        scale: Multiplier, > 0; broadcasts the same way.
        validate_args: Check concrete `scale`.

    Example:
        >>> import numpy as np
        >>> from likely.distributions import AffineTransformed, LogNormal
        >>> d = AffineTransformed(LogNormal(np.zeros(1), np.ones(1)), shift=-1.0, scale=2.0)
        >>> d.support.lower, np.round(np.asarray(d.quantile(0.5)), 4)
        (-1.0, array([1.], dtype=float32))
    """

    arg_constraints = {"scale": constraints.positive}

    def __init__(
        self, base: Distribution, shift: Any = 0.0, scale: Any = 1.0, *, validate_args: bool = True
    ) -> None:
        if not isinstance(base, Distribution):
            raise TypeError(f"Argument `base` must be a likely distribution. Received: {base!r}")
        self.base = base
        self.shift = _base.as_float_tensor(shift)
        self.scale = _base.as_float_tensor(scale)
        self._init_shapes(base.batch_shape, base.event_shape)
        if validate_args:
            self._validate(scale=self.scale)
        self.support = _mapped_support(base.support, self.shift, self.scale)

    def parameters(self) -> dict[str, Any]:
        return {"base": self.base, "shift": self.shift, "scale": self.scale}

    def _param_event_ndims(self) -> dict[str, int]:
        # shift and scale hold per-event values (or broadcast scalars), the base its batch.
        events = len(self.event_shape)
        return {
            "base": 0,
            "shift": min(events, len(self.shift.shape)),
            "scale": min(events, len(self.scale.shape)),
        }

    def map_batch(self, fn: Any) -> Distribution:
        # shift and scale usually broadcast (one value per event dimension); only
        # per-object ones follow the batch.
        def maybe(value: Any, trailing: int) -> Any:
            if len(value.shape) <= trailing:
                return value
            return fn(value, trailing)

        ndims = self._param_event_ndims()
        return AffineTransformed(
            self.base.map_batch(fn),
            maybe(self.shift, ndims["shift"]),
            maybe(self.scale, ndims["scale"]),
            validate_args=False,
        )

    def _z(self, value: Any) -> Any:
        return (_base.as_float_tensor(value) - self.shift) / self.scale

    def _log_jacobian(self) -> Any:
        log_scale = ops.broadcast_to(ops.log(self.scale), self.batch_shape + self.event_shape)
        return ops.sum(log_scale, axis=-1) if self.event_shape else log_scale

    @property
    def mean(self) -> Any:
        return self.shift + self.scale * self.base.mean

    @property
    def variance(self) -> Any:
        return ops.square(self.scale) * self.base.variance

    @property
    def mode(self) -> Any:
        return self.shift + self.scale * self.base.mode

    def log_prob(self, value: Any) -> Any:
        return self.base.log_prob(self._z(value)) - self._log_jacobian()

    def cdf(self, value: Any) -> Any:
        return self.base.cdf(self._z(value))

    def survival_function(self, value: Any) -> Any:
        return self.base.survival_function(self._z(value))

    def marginal_prob(self, value: Any) -> Any:
        return self.base.marginal_prob(self._z(value)) / self.scale

    def quantile(self, q: Any) -> Any:
        return self.shift + self.scale * self.base.quantile(q)

    def sample(self, sample_shape: int | tuple[int, ...] = (), seed: _base.SeedLike = None) -> Any:
        return self.shift + self.scale * self.base.sample(sample_shape, seed=seed)

    def crps_closed_form(self, y: np.ndarray) -> np.ndarray | None:
        shift, scale = _base.float64_batch(self.batch_shape, self.shift, self.scale)
        inner = self.base.crps_closed_form((y - shift) / scale)
        return None if inner is None else scale * inner

    def __repr__(self) -> str:
        return f"AffineTransformed({self.base!r})"


def _mapped_support(support: constraints.Constraint, shift: Any, scale: Any) -> Any:
    """The support after y = shift + scale x (scale > 0), for scalar shift and scale."""
    if not (support.is_bounded_below or support.is_bounded_above):
        return support
    shift_value = _base.concrete_numpy(shift)
    scale_value = _base.concrete_numpy(scale)
    if shift_value is None or scale_value is None or shift_value.size != 1 or scale_value.size != 1:
        return constraints.real  # per-object bounds: no single set to report
    a, b = float(shift_value.reshape(())), float(scale_value.reshape(()))
    lower = a + b * support.lower if support.is_bounded_below else -math.inf
    upper = a + b * support.upper if support.is_bounded_above else math.inf
    if math.isinf(upper):
        return constraints.greater_than(lower)
    return constraints.interval(lower, upper)
