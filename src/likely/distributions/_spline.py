"""A monotone rational-quadratic spline flow on a bounded interval (Durkan et al. 2019)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from keras import ops

from likely.distributions import _base
from likely.distributions import _constraints as constraints
from likely.distributions._distribution import Distribution, grid_mode
from likely.distributions._registry import register_family

_GAUSS_LEGENDRE = np.polynomial.legendre.leggauss(8)
DEFAULT_NUM_BINS = 16
_MIN_BIN = 1e-3
_MIN_DERIVATIVE = 1e-3


@register_family("spline_flow")
class SplineFlow(Distribution):
    """A flexible density on [low, high]: a monotone rational-quadratic spline of a uniform.

    The CDF is the spline itself, `F(y) = g((y - low) / (high - low))`, where
    `g: [0, 1] -> [0, 1]` is monotone rational-quadratic between K + 1 knots
    (Durkan, Bekasov, Murray & Papamakarios 2019, "Neural Spline Flows"; the
    transform pzflow uses for photometric redshifts). The density
    `g'(u) / (high - low)` can take any smooth, multimodal shape and is zero
    outside [low, high]: no mass below a redshift of 0. `log_prob`, `cdf`
    and `quantile` are closed form (the inverse solves a quadratic per bin);
    `mean` and `variance` are Gauss-Legendre integrals per bin (8 nodes,
    exact to float precision for these rational functions); `mode` is a grid
    search refined in the best bin; sampling is by the inverse CDF.

    Args:
        knots_x: Knot positions in [0, 1], increasing, first 0 and last 1, (*batch, K+1).
        knots_y: CDF values at the knots, increasing, first 0 and last 1, (*batch, K+1).
        derivatives: Slopes of g at the knots, > 0, (*batch, K+1).
        low: Lower end of the support.
        high: Upper end of the support (> low).
        validate_args: Check concrete parameters.

    As a head's family (`likely.layers.SplineFlow(num_bins, low=, high=)`) it
    takes `params_size(K) = 3K + 1` numbers: K bin widths and K bin heights
    (softmax, each at least 1e-3 of the interval), and K + 1 knot slopes
    (`softplus(x) + 1e-3`).

    Example:
        >>> import numpy as np
        >>> from likely.distributions import SplineFlow
        >>> d = SplineFlow.from_unconstrained(np.zeros((1, 13)), num_bins=4, low=0.0, high=2.0)
        >>> np.round(np.asarray(d.cdf(np.array([-1.0, 0.5, 3.0]))), 4)
        array([0.  , 0.25, 1.  ], dtype=float32)
    """

    arg_constraints = {
        "knots_x": constraints.unit_interval,
        "knots_y": constraints.unit_interval,
        "derivatives": constraints.positive,
    }

    def __init__(
        self,
        knots_x: Any,
        knots_y: Any,
        derivatives: Any,
        *,
        low: float = 0.0,
        high: float = 1.0,
        validate_args: bool = True,
    ) -> None:
        low, high = float(low), float(high)
        if not (math.isfinite(low) and math.isfinite(high) and high > low):
            raise ValueError(
                f"Arguments `low` and `high` must be finite with low < high. Received: "
                f"low={low!r}, high={high!r}."
            )
        self.low, self.high = low, high
        self.support = constraints.interval(low, high)
        self.knots_x = _base.as_float_tensor(knots_x)
        self.knots_y = _base.as_float_tensor(knots_y)
        self.derivatives = _base.as_float_tensor(derivatives)
        shape = _base.broadcast_shapes(
            knots_x=self.knots_x.shape,
            knots_y=self.knots_y.shape,
            derivatives=self.derivatives.shape,
        )
        self._init_shapes(shape[:-1], ())
        if validate_args:
            self._validate(knots_x=self.knots_x, knots_y=self.knots_y, derivatives=self.derivatives)
            for name, knots in (("knots_x", self.knots_x), ("knots_y", self.knots_y)):
                array = _base.concrete_numpy(knots)
                if array is not None and (np.diff(array, axis=-1) <= 0).any():
                    raise ValueError(f"Argument `{name}` of SplineFlow must increase strictly.")

    # -- the head protocol ----------------------------------------------------------
    @classmethod
    def params_size(cls, num_bins: int = DEFAULT_NUM_BINS, event_size: int = 1, **_: Any) -> int:
        """K widths, K heights and K + 1 slopes."""
        return 3 * _base.check_positive_int("num_bins", num_bins) + 1

    @classmethod
    def check_options(
        cls,
        num_bins: int = DEFAULT_NUM_BINS,
        low: float = 0.0,
        high: float = 1.0,
        event_size: int = 1,
    ) -> dict[str, Any]:
        if event_size != 1:
            raise ValueError(
                f"SplineFlow models one target dimension (event_size=1). Received: "
                f"event_size={event_size!r}."
            )
        for name, value in (("low", low), ("high", high)):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"Argument `{name}` must be a number. Received: {value!r}")
        if not (math.isfinite(low) and math.isfinite(high) and high > low):
            raise ValueError(
                "SplineFlow needs a finite interval with low < high (the support of the "
                f"target). Received: low={low!r}, high={high!r}."
            )
        return {
            "num_bins": _base.check_positive_int("num_bins", num_bins),
            "low": float(low),
            "high": float(high),
        }

    @classmethod
    def from_unconstrained(
        cls,
        params: Any,
        num_bins: int = DEFAULT_NUM_BINS,
        low: float = 0.0,
        high: float = 1.0,
        event_size: int = 1,
    ) -> SplineFlow:
        params = _base.as_float_tensor(params)
        k = num_bins
        _base.check_params_width("spline_flow", params, cls.params_size(k))
        widths = _MIN_BIN + (1.0 - k * _MIN_BIN) * ops.softmax(params[..., :k], axis=-1)
        heights = _MIN_BIN + (1.0 - k * _MIN_BIN) * ops.softmax(params[..., k : 2 * k], axis=-1)
        derivatives = _MIN_DERIVATIVE + ops.softplus(params[..., 2 * k :])
        return cls(_knots(widths), _knots(heights), derivatives, low=low, high=high,
                   validate_args=False)  # fmt: skip

    def parameters(self) -> dict[str, Any]:
        return {"knots_x": self.knots_x, "knots_y": self.knots_y, "derivatives": self.derivatives}

    def _param_event_ndims(self) -> dict[str, int]:
        return {"knots_x": 1, "knots_y": 1, "derivatives": 1}

    def _static_kwargs(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high}

    @property
    def num_bins(self) -> int:
        return int(self.knots_x.shape[-1]) - 1

    # -- the spline -----------------------------------------------------------------
    def _bin_params(self, index: Any) -> tuple[Any, ...]:
        """(x_k, w_k, y_k, h_k, d_k, d_k+1) of bin `index` (shape of the values)."""
        k = self.num_bins
        one_hot = ops.one_hot(index, k)  # (..., K)

        def pick(a: Any) -> Any:
            return ops.sum(one_hot * a, axis=-1)

        x, y, d = self.knots_x, self.knots_y, self.derivatives
        return (
            pick(x[..., :-1]), pick(x[..., 1:] - x[..., :-1]),
            pick(y[..., :-1]), pick(y[..., 1:] - y[..., :-1]),
            pick(d[..., :-1]), pick(d[..., 1:]),
        )  # fmt: skip

    def _unit(self, value: Any) -> tuple[Any, Any]:
        """(u in [0, 1] clipped, mask of values inside [low, high])."""
        value = _base.as_float_tensor(value)
        u = (value - self.low) / (self.high - self.low)
        inside = (u >= 0.0) & (u <= 1.0)
        return ops.clip(u, 0.0, 1.0), inside

    def _bin_of(self, u: Any, knots: Any) -> Any:
        interior = knots[..., 1:-1]  # (*b, K - 1)
        return ops.cast(ops.sum(ops.cast(ops.expand_dims(u, -1) >= interior, "int32"), -1), "int32")

    def _forward(self, u: Any) -> tuple[Any, Any]:
        """g(u) and log g'(u)."""
        x_k, w, y_k, h, d0, d1 = self._bin_params(self._bin_of(u, self.knots_x))
        return _rational_quadratic(ops.clip((u - x_k) / w, 0.0, 1.0), w, y_k, h, d0, d1)

    def log_prob(self, value: Any) -> Any:
        u, inside = self._unit(value)
        _, log_slope = self._forward(u)
        return ops.where(inside, log_slope - math.log(self.high - self.low), -math.inf)

    def cdf(self, value: Any) -> Any:
        u, _ = self._unit(value)
        return ops.clip(self._forward(u)[0], 0.0, 1.0)

    def quantile(self, q: Any) -> Any:
        """The closed-form inverse: one quadratic per bin (Durkan et al. 2019, eq. 6-8)."""
        p, upper = _base.tail_probability(q)
        q = ops.clip(ops.where(upper, 1.0 - p, p), 0.0, 1.0)
        x_k, w, y_k, h, d0, d1 = self._bin_params(self._bin_of(q, self.knots_y))
        s = h / w
        dy = q - y_k
        curvature = d1 + d0 - 2.0 * s
        a = h * (s - d0) + dy * curvature
        b = h * d0 - dy * curvature
        c = -s * dy
        root = ops.sqrt(ops.maximum(ops.square(b) - 4.0 * a * c, 0.0))
        xi = ops.clip(2.0 * c / ops.minimum(-b - root, -1e-30), 0.0, 1.0)
        u = x_k + xi * w
        return self.low + (self.high - self.low) * u

    # -- moments ----------------------------------------------------------------------
    def _integrals(self) -> tuple[Any, Any]:
        """int_0^1 g(u) du and int_0^1 2 u g(u) du, by 8-point Gauss-Legendre per bin.

        The nodes of bin k lie in bin k, so each is evaluated on its own bin's
        parameters, all bins and nodes at once (no bin lookup).
        """
        nodes, weights = _GAUSS_LEGENDRE
        xi = ops.convert_to_tensor(0.5 * (nodes + 1.0), self.knots_x.dtype)  # (J,)
        half_weights = ops.convert_to_tensor(0.5 * weights, self.knots_x.dtype)
        shape = self.batch_shape + (self.num_bins + 1,)
        x, y = ops.broadcast_to(self.knots_x, shape), ops.broadcast_to(self.knots_y, shape)
        d = ops.broadcast_to(self.derivatives, shape)

        def per_bin(a: Any) -> Any:
            return ops.expand_dims(a, -1)  # (*b, K, 1) against the nodes (J,)

        left, width = per_bin(x[..., :-1]), per_bin(x[..., 1:] - x[..., :-1])
        g, _ = _rational_quadratic(
            xi, width, per_bin(y[..., :-1]), per_bin(y[..., 1:] - y[..., :-1]),
            per_bin(d[..., :-1]), per_bin(d[..., 1:]),
        )  # fmt: skip
        weighted = half_weights * width * g  # (*b, K, J)
        first = ops.sum(weighted, axis=(-2, -1))
        second = ops.sum(2.0 * (left + xi * width) * weighted, axis=(-2, -1))
        return first, second

    @property
    def mean(self) -> Any:
        first, _ = self._integrals()
        return self.low + (self.high - self.low) * (1.0 - first)

    @property
    def variance(self) -> Any:
        first, second = self._integrals()
        mean_u = 1.0 - first
        return ops.square(self.high - self.low) * ops.maximum(
            1.0 - second - ops.square(mean_u), 0.0
        )

    @property
    def mode(self) -> Any:
        """Grid search around the three most promising bins, refined around the best point.

        The density is evaluated at every knot and bin centre (2K + 1 points);
        the bins holding the three highest of those are searched on a grid and
        refined (`grid_mode`).
        """
        x = ops.broadcast_to(self.knots_x, self.batch_shape + (self.num_bins + 1,))
        span = self.high - self.low
        centres = 0.5 * (x[..., :-1] + x[..., 1:])
        halves = 0.5 * (x[..., 1:] - x[..., :-1])
        # Density at the centres and at both ends of every bin: a bin's score is the best.
        points = ops.moveaxis(self.low + span * ops.concatenate([x, centres], -1), -1, 0)
        density = ops.moveaxis(self.log_prob(ops.clip(points, self.low, self.high)), 0, -1)
        k = self.num_bins
        score = ops.maximum(
            ops.maximum(density[..., :k], density[..., 1 : k + 1]), density[..., k + 1 :]
        )
        top = ops.argsort(-score, axis=-1)[..., : min(3, k)]  # (*b, 3)
        starts = ops.take_along_axis(centres, top, axis=-1)
        widths = ops.take_along_axis(halves, top, axis=-1)
        mode = grid_mode(
            self, ops.moveaxis(self.low + span * starts, -1, 0),
            ops.moveaxis(span * widths * 1.1, -1, 0),
        )  # fmt: skip
        return ops.clip(mode, self.low, self.high)

    def __repr__(self) -> str:
        return (
            f"SplineFlow(num_bins={self.num_bins}, low={self.low:g}, high={self.high:g}, "
            f"batch_shape={self.batch_shape})"
        )


def _knots(sizes: Any) -> Any:
    """Bin sizes (..., K) summing to 1 -> knots (..., K + 1) from 0 to exactly 1."""
    inner = ops.cumsum(sizes, axis=-1)[..., :-1]
    zeros = ops.zeros_like(sizes[..., :1])
    return ops.concatenate([zeros, inner, zeros + 1.0], axis=-1)


def _rational_quadratic(xi: Any, w: Any, y_k: Any, h: Any, d0: Any, d1: Any) -> tuple[Any, Any]:
    """g and log g' at position `xi` in [0, 1] of a bin of width `w`, height `h`, slopes d0, d1."""
    s = h / w
    mix = xi * (1.0 - xi)
    denominator = s + (d1 + d0 - 2.0 * s) * mix
    g = y_k + h * (s * ops.square(xi) + d0 * mix) / denominator
    numerator = ops.square(s) * (d1 * ops.square(xi) + 2.0 * s * mix + d0 * ops.square(1.0 - xi))
    return g, ops.log(numerator) - 2.0 * ops.log(denominator)
