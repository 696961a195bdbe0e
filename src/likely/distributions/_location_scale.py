"""`LocationScale`: the parameters, head map and shapes shared by (loc, scale) families."""

from __future__ import annotations

from typing import Any

from keras import ops

from likely.distributions import _base
from likely.distributions import _constraints as constraints
from likely.distributions._distribution import Distribution


class LocationScale(Distribution):
    """A family with a real `loc` and a positive `scale` of the same shape, scalar events.

    Subclasses (Laplace, LogNormal) write only their densities, CDFs,
    quantiles and moments. As a head's family a subclass takes
    `params_size(E) = 2E` numbers: E locations, then E scales mapped through
    `softplus(x) + min_scale`; `E > 1` is an `Independent` over the last axis.
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}

    def __init__(self, loc: Any, scale: Any, *, validate_args: bool = True) -> None:
        self.loc = _base.as_float_tensor(loc)
        self.scale = _base.as_float_tensor(scale)
        self._init_shapes(_base.broadcast_shapes(loc=self.loc.shape, scale=self.scale.shape), ())
        if validate_args:
            self._validate(loc=self.loc, scale=self.scale)

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
        _base.check_params_width(cls.__name__.lower(), params, cls.params_size(event_size))
        loc = params[..., :event_size]
        scale = _base.positive_scale(params[..., event_size:], min_scale)
        if event_size == 1:
            return cls(loc[..., 0], scale[..., 0], validate_args=False)
        return Independent(cls(loc, scale, validate_args=False), 1)

    def parameters(self) -> dict[str, Any]:
        return {"loc": self.loc, "scale": self.scale}

    def _param_event_ndims(self) -> dict[str, int]:
        return {"loc": 0, "scale": 0}

    def _full(self, value: Any) -> Any:
        return ops.broadcast_to(value, self.batch_shape)
