"""`Distribution`: the protocol every likely family implements.

A family is one class (one module) that declares

- its parameters and their constraints (`arg_constraints`) and the support
  of its values (`support`), checked on concrete values with messages that
  name the parameter;
- for use at the end of a network, `params_size(...)` (how many
  unconstrained numbers a head needs) and `from_unconstrained(params, ...)`
  (the map from those numbers to constrained parameters);
- its maths, written once with `keras.ops`: `log_prob`, `cdf`, `quantile`,
  `sample(sample_shape, seed=)`, `mean`, `variance`, `mode`, and optionally
  a closed-form CRPS on NumPy (`crps_closed_form`).

Methods that have a generic form are implemented here once: `stddev`,
`prob`, `survival_function`, a safeguarded root search for `quantile` (given
a bracket), inverse-CDF sampling, and batch manipulation (`reshape_batch`,
`take`, `expand_batch`) through the declared parameters, which is how
ensembles of any family become mixtures and how metrics work on rows.

The interface follows `torch.distributions`: values broadcast against
`batch_shape + event_shape`, and every method returns backend tensors.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

import keras
import numpy as np
from keras import ops

from likely.distributions import _base
from likely.distributions import _constraints as constraints

_SEARCH_STEPS = 100
_SEARCH_CHECK_EVERY = 4
_SEARCH_RTOL = 1e-6


class Distribution:
    """Base class of likely's distribution families.

    Subclasses set `arg_constraints` and `support`, call
    `self._init_shapes(batch_shape, event_shape)` and `self._validate(...)`
    in `__init__`, and implement at least `log_prob`, `mean`, `variance`,
    `parameters` and `_param_event_ndims`; continuous scalar families also
    `cdf` and either `quantile` or `_quantile_bracket`.

    A family defined outside likely works everywhere likely's own do (heads,
    losses, `likely.Predictive`, metrics) once it implements this protocol;
    see `likely.layers.DistributionHead` and the user-defined Laplace family
    in the tests.

    Example:
        >>> import numpy as np
        >>> from likely.distributions import Distribution, Normal
        >>> d = Normal(np.zeros(3), np.ones(3))
        >>> isinstance(d, Distribution), d.support.name
        (True, 'a finite real number')
        >>> d.take(np.array([0, 2])).batch_shape
        (2,)
    """

    arg_constraints: ClassVar[dict[str, constraints.Constraint]] = {}
    support: ClassVar[constraints.Constraint] = constraints.real
    family: ClassVar[str | None] = None
    """Registry name (`likely.distributions.family_names()`), set by `register_family`."""

    _batch_shape: tuple[int, ...]
    _event_shape: tuple[int, ...]

    # -- construction ---------------------------------------------------------------
    def _init_shapes(self, batch_shape: tuple[Any, ...], event_shape: tuple[int, ...]) -> None:
        self._batch_shape = tuple(batch_shape)
        self._event_shape = tuple(event_shape)

    def _validate(self, **values: Any) -> None:
        """Checks concrete parameter values against `arg_constraints` (skips traced ones)."""
        for name, value in values.items():
            constraint = self.arg_constraints.get(name)
            if constraint is None:
                continue
            array = _base.concrete_numpy(value)
            if array is None:
                continue
            ok = constraint.check(array)
            if not np.all(ok):
                bad = ~np.broadcast_to(ok, array.shape) if array.ndim else ~np.atleast_1d(ok)
                first = tuple(int(i) for i in np.argwhere(bad)[0]) if array.ndim else ()
                example = array[first] if array.ndim else array
                raise ValueError(
                    f"Argument `{name}` must be {constraint} ({type(self).__name__}), but "
                    f"{int(bad.sum())} of its {array.size} values are not (shape {array.shape}; "
                    f"first offending index {first}: {example!r})."
                )

    # -- the head protocol ----------------------------------------------------------
    @classmethod
    def params_size(cls, event_size: int = 1, **options: Any) -> int:
        """Number of unconstrained numbers a head needs for this family."""
        raise NotImplementedError(
            f"{cls.__name__} does not define params_size(); it cannot be used in a "
            "likely.layers.DistributionHead (use likely.layers.DistributionLambda)."
        )

    @classmethod
    def from_unconstrained(cls, params: Any, event_size: int = 1, **options: Any) -> Distribution:
        """The distribution given a head's unconstrained outputs `params` of shape (..., P)."""
        raise NotImplementedError(
            f"{cls.__name__} does not define from_unconstrained(); it cannot be used in a "
            "likely.layers.DistributionHead (use likely.layers.DistributionLambda)."
        )

    @classmethod
    def check_options(cls, event_size: int = 1, **options: Any) -> dict[str, Any]:
        """Validates head options (`event_size`, ...); returns them normalized.

        The default accepts `event_size` and the options `from_unconstrained` takes.
        """
        return {"event_size": event_size, **options}

    # -- parameters -----------------------------------------------------------------
    def parameters(self) -> dict[str, Any]:
        """The constructor's tensor (or nested distribution) parameters, by name."""
        raise NotImplementedError(f"{type(self).__name__} does not list its parameters.")

    def _param_event_ndims(self) -> dict[str, int]:
        """Per parameter, how many trailing axes are not batch axes."""
        raise NotImplementedError(f"{type(self).__name__} does not list its parameters.")

    def _static_kwargs(self) -> dict[str, Any]:
        """Constructor arguments that are not per-object tensors."""
        return {}

    def map_batch(self, fn: Callable[[Any, int], Any]) -> Distribution:
        """The same family with `fn(parameter, trailing_ndims)` applied to every parameter.

        `fn` transforms the leading batch axes of a parameter whose last
        `trailing_ndims` axes are not batch axes; nested distributions (the
        components of a mixture) are mapped recursively.
        """
        ndims = self._param_event_ndims()
        mapped: dict[str, Any] = {}
        for name, value in self.parameters().items():
            if isinstance(value, Distribution):
                extra = ndims[name]
                mapped[name] = value.map_batch(lambda v, n, e=extra: fn(v, n + e))
            else:
                mapped[name] = fn(_base.as_float_tensor(value), ndims[name])
        return type(self)(**mapped, **self._static_kwargs(), validate_args=False)

    def expand_batch(self, batch_shape: tuple[int, ...]) -> Distribution:
        """Parameters broadcast to `batch_shape` (each keeps its trailing axes)."""
        batch_shape = tuple(batch_shape)

        def expand(value: Any, trailing: int) -> Any:
            tail = tuple(value.shape[len(value.shape) - trailing :]) if trailing else ()
            lead = tuple(value.shape[: len(value.shape) - trailing])
            value = ops.reshape(value, (1,) * (len(batch_shape) - len(lead)) + lead + tail)
            return ops.broadcast_to(value, batch_shape + tail)

        return self.map_batch(expand)

    def reshape_batch(self, batch_shape: tuple[int, ...]) -> Distribution:
        """The same distributions with the batch axes reshaped to `batch_shape`."""
        full = self.expand_batch(self.batch_shape)

        def reshape(value: Any, trailing: int) -> Any:
            tail = tuple(value.shape[len(value.shape) - trailing :]) if trailing else ()
            return ops.reshape(value, tuple(batch_shape) + tail)

        return full.map_batch(reshape)

    def take(self, rows: Any) -> Distribution:
        """Rows `rows` (a slice or integer indices) of the first batch axis."""
        if not self.batch_shape:
            raise ValueError(f"{type(self).__name__} has no batch axis to take rows from.")
        full = self.expand_batch(self.batch_shape)
        if isinstance(rows, slice):
            return full.map_batch(lambda value, trailing: value[rows])
        index = ops.convert_to_tensor(np.asarray(rows, dtype="int32"))
        return full.map_batch(lambda value, trailing: ops.take(value, index, axis=0))

    # -- shapes ---------------------------------------------------------------------
    @property
    def batch_shape(self) -> tuple[int, ...]:
        return self._batch_shape

    @property
    def event_shape(self) -> tuple[int, ...]:
        return self._event_shape

    # -- moments --------------------------------------------------------------------
    @property
    def mean(self) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no mean.")

    @property
    def variance(self) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no variance.")

    @property
    def stddev(self) -> Any:
        return ops.sqrt(self.variance)

    @property
    def mode(self) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no mode.")

    # -- densities ------------------------------------------------------------------
    def log_prob(self, value: Any) -> Any:
        """Log density (or log mass) at `value`, broadcast against the batch shape."""
        raise NotImplementedError(f"{type(self).__name__} has no log_prob.")

    def prob(self, value: Any) -> Any:
        """Density (or mass) at `value`."""
        return ops.exp(self.log_prob(value))

    def cdf(self, value: Any) -> Any:
        """Cumulative distribution function at `value` (per dimension for vector events)."""
        raise NotImplementedError(f"{type(self).__name__} has no cumulative distribution function.")

    def survival_function(self, value: Any) -> Any:
        """1 - cdf(value); families override it where the upper tail needs precision."""
        return 1.0 - self.cdf(value)

    def marginal_prob(self, value: Any) -> Any:
        """Density of each event dimension's marginal at `value` (the density for scalars)."""
        if self.event_shape:
            raise NotImplementedError(
                f"{type(self).__name__} has no marginal densities for vector events."
            )
        return self.prob(value)

    # -- quantiles and sampling -----------------------------------------------------
    def quantile(self, q: Any) -> Any:
        """Inverse CDF at probability `q` (per dimension for vector events).

        The default searches the root of `cdf(x) = q` inside the family's
        `_quantile_bracket` by safeguarded Newton steps, solving on the
        survival side for q > 1/2 so upper tails keep their relative precision.
        """
        p, upper_side = _base.tail_probability(q)
        lower, upper, start = self._quantile_bracket(ops.where(upper_side, 1.0 - p, p))
        return search_quantile(self, (p, upper_side), lower, upper, start)

    def _quantile_bracket(self, q: Any) -> tuple[Any, Any, Any]:
        """(lower, upper, start) with cdf(lower) <= q <= cdf(upper), shaped like q x batch."""
        raise NotImplementedError(f"{type(self).__name__} has no quantile function.")

    def sample(self, sample_shape: int | tuple[int, ...] = (), seed: _base.SeedLike = None) -> Any:
        """Draws of shape `sample_shape + batch_shape + event_shape` (inverse-CDF by default)."""
        shape = _base.as_shape(sample_shape) + self.batch_shape + self.event_shape
        u = keras.random.uniform(
            shape, minval=1e-7, maxval=1.0 - 1e-7, seed=_base.seed_generator(seed)
        )
        return self.quantile(u)

    # -- changes of variables -------------------------------------------------------
    def _affine(self, shift: Any, scale: Any) -> Distribution | None:
        """`shift + scale * X` within the family, or None (then `AffineTransformed` wraps it)."""
        return None

    # -- scores ---------------------------------------------------------------------
    def crps_closed_form(self, y: np.ndarray) -> np.ndarray | None:
        """Closed-form CRPS at `y` (NumPy, float64) for scalar events, or None if none is known."""
        return None

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(batch_shape={self.batch_shape}, event_shape={self.event_shape})"
        )


def search_quantile(distribution: Distribution, q: Any, lower: Any, upper: Any, start: Any) -> Any:
    """Solves cdf(x) = q elementwise inside [lower, upper] (safeguarded Newton, bisection).

    Works on the side of the smaller tail: for q <= 1/2 on `cdf(x) - q`, for
    q > 1/2 on `(1 - q) - survival_function(x)` (with 1 - q from the float64
    input, see `_base.tail_probability`), and stops once the residual is
    within 1e-6 of the tail probability or the bracket has shrunk to float
    precision. On concrete values the loop stops when every element has
    converged; inside a traced function every step is taken. `q` in {0, 1}
    gives the ends of the support (the bracket's ends for bounded supports).
    """
    p, upper_side = _base.tail_probability(q)
    shape = _base.broadcast_shapes(q=p.shape, lower=lower.shape, upper=upper.shape)
    p = ops.broadcast_to(p, shape)
    upper_side = ops.broadcast_to(upper_side, shape)
    lo = ops.broadcast_to(lower, shape)
    hi = ops.broadcast_to(upper, shape)
    x = ops.clip(ops.broadcast_to(start, shape), lo, hi)
    tolerance = _SEARCH_RTOL * p
    concrete = _base.concrete_numpy(x) is not None
    previous = ops.full_like(x, math.inf)
    for step in range(_SEARCH_STEPS):
        residual = ops.where(
            upper_side, p - distribution.survival_function(x), distribution.cdf(x) - p
        )
        density = ops.maximum(distribution.marginal_prob(x), 1e-30)
        below = residual < 0.0
        lo = ops.where(below, x, lo)
        hi = ops.where(below, hi, x)
        newton = x - residual / density
        inside = (newton > lo) & (newton < hi) & (ops.abs(residual) <= 0.5 * previous)
        width = hi - lo
        done = (ops.abs(residual) <= tolerance) | (width <= 1e-7 * (1.0 + ops.abs(x)))
        x = ops.where(done, x, ops.where(inside, newton, _midpoint(lo, hi)))
        previous = ops.abs(residual)
        if concrete and step % _SEARCH_CHECK_EVERY == _SEARCH_CHECK_EVERY - 1:
            if bool(np.all(ops.convert_to_numpy(done))):
                break
    at_end = p <= 0.0
    low_end = _support_end(distribution, ops.broadcast_to(lower, shape), lower=True)
    high_end = _support_end(distribution, ops.broadcast_to(upper, shape), lower=False)
    x = ops.where(at_end & ~upper_side, low_end, x)
    return ops.where(at_end & upper_side, high_end, x)


def _midpoint(lo: Any, hi: Any) -> Any:
    """Bisection point; geometric when the bracket spans orders of magnitude on one side."""
    arithmetic = 0.5 * (lo + hi)
    same_sign = lo * hi > 0.0
    ratio = ops.where(same_sign, hi / ops.where(lo == 0.0, 1.0, lo), 1.0)
    geometric = ops.sign(lo) * ops.sqrt(ops.abs(lo) * ops.abs(hi))
    return ops.where(same_sign & (ratio > 16.0), geometric, arithmetic)


def _support_end(distribution: Distribution, bracket_end: Any, lower: bool) -> Any:
    """-inf / +inf for an unbounded side of the support, else the bracket's end (the bound)."""
    bound = distribution.support.lower if lower else distribution.support.upper
    return ops.full_like(bracket_end, bound) if math.isinf(bound) else bracket_end


_MODE_GRID = 33
_MODE_REFINEMENTS = 3


def grid_mode(distribution: Distribution, starts: Any, spans: Any) -> Any:
    """Highest density point of a scalar-event distribution near candidate points.

    `starts` and `spans` have shape (C, *batch): C candidate locations (e.g.
    the components' modes) and a half-width around each. The log density is
    evaluated on a grid of 33 points across every candidate's window; the
    best point's window is then refined three times, each 16 times narrower,
    so the mode is located to ~1e-5 of the window (for smooth densities the
    density there is within ~1e-10 of its maximum).
    """
    batch = distribution.batch_shape
    offsets = ops.convert_to_tensor(np.linspace(-1.0, 1.0, _MODE_GRID), keras.backend.floatx())
    offsets = ops.reshape(offsets, (_MODE_GRID,) + (1,) * len(batch))
    starts = ops.broadcast_to(starts, tuple(starts.shape[:1]) + batch)
    spans = ops.broadcast_to(spans, starts.shape)
    # One candidate at a time, keeping the best point so far: (G, *batch) temporaries.
    x = best_density = span = None
    for c in range(int(starts.shape[0])):
        grid = ops.expand_dims(starts[c], 0) + offsets * ops.expand_dims(spans[c], 0)
        density = distribution.log_prob(grid)  # (G, *b)
        index = ops.argmax(density, axis=0)
        point, value = _take_best(grid, index), ops.max(density, axis=0)
        if x is None:
            x, best_density, span = point, value, spans[c]
        else:
            better = value > best_density
            x = ops.where(better, point, x)
            span = ops.where(better, spans[c], span)
            best_density = ops.maximum(value, best_density)
    step = 2.0 / (_MODE_GRID - 1)
    for _ in range(_MODE_REFINEMENTS):
        span = span * step
        fine = ops.expand_dims(x, 0) + offsets * ops.expand_dims(span, 0)  # (G, *b)
        density = distribution.log_prob(fine)
        x = _take_best(fine, ops.argmax(density, axis=0))
    return x


def _take_best(values: Any, index: Any) -> Any:
    """values[index[b], b] for values (G, *b) and index (*b,)."""
    one_hot = ops.one_hot(index, values.shape[0], axis=0)
    return ops.sum(one_hot * values, axis=0)
