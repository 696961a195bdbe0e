"""Shared machinery of likely's distributions: tensor conversion, validation, seeds."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
from keras import ops

from likely._constants import DEFAULT_MIN_SCALE  # noqa: F401  (used by the families)

LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
SQRT_2 = math.sqrt(2.0)

SeedLike = int | keras.random.SeedGenerator | None


def as_float_tensor(value: Any) -> Any:
    """Converts `value` to a backend tensor of Keras' float dtype."""
    return ops.cast(ops.convert_to_tensor(value), keras.backend.floatx())


def concrete_numpy(value: Any) -> np.ndarray | None:
    """Returns `value` as a NumPy array, or None when it is symbolic (traced).

    Validation of parameter *values* can only happen on concrete arrays; inside
    a jitted training step the values are tracers and checks are skipped.
    """
    if isinstance(value, np.ndarray):
        return value
    try:
        return np.asarray(ops.convert_to_numpy(value))
    except Exception:  # tracer, symbolic KerasTensor or graph tensor
        return None


@functools.cache
def compiler_options() -> dict[str, Any]:
    """XLA:CPU options for the compiled programs (`fused`, the solvers), where jaxlib knows them.

    XLA:CPU hands some small reductions (the softmax and the K x K density
    of a block's rows) to YNNPACK fusions, which made the mode's preparation
    5x slower than XLA's own loops; the option turns that off for these
    programs only.
    """
    import jax

    options = {"xla_cpu_experimental_ynn_fusion_type": ""}
    if jax.default_backend() != "cpu":
        return {}
    try:
        jax.jit(lambda x: x + 1.0, compiler_options=options).lower(1.0).compile()
    except Exception:  # an XLA without the option
        return {}
    return {"compiler_options": options}


def fused(
    fn: Callable[..., Any],
    static_argnums: tuple[int, ...] = (),
    plain: Callable[..., Any] | None = None,
) -> Callable[..., Any]:
    """`fn`, a pure function of tensors, as ONE compiled computation when that pays.

    On JAX, concrete arrays go through `jax.jit(fn)`: op by op, each of a
    family's element-wise steps (slices, softplus, softmax, weighted sums)
    would write its own full-size array, which costs more than the maths
    (a 5-component mixture's mean and variance on 10^6 rows, one core: 0.23 s op
    by op, 0.03 s fused).
    Traced and symbolic tensors (a caller's `jax.jit`, Keras graph building)
    and the other backends call `plain` (default `fn`): the same values
    computed in a form that suits them, e.g. without a data-dependent loop,
    which reverse-mode differentiation cannot go through.
    """
    plain = fn if plain is None else plain
    if keras.backend.backend() != "jax":
        return plain
    import jax

    @functools.cache
    def compiled() -> Callable[..., Any]:
        return jax.jit(fn, static_argnums=static_argnums, **compiler_options())

    @functools.wraps(fn)
    def call(*args: Any) -> Any:
        arrays = (a for i, a in enumerate(args) if i not in static_argnums)
        if all(
            isinstance(a, np.ndarray | jax.Array) and not isinstance(a, jax.core.Tracer)
            for a in arrays
        ):
            return compiled()(*args)
        return plain(*args)  # traced: part of the caller's computation already

    return call


def check_finite(name: str, value: Any) -> None:
    """Raises ValueError naming `name` if a concrete `value` holds NaN or inf."""
    array = concrete_numpy(value)
    if array is None:
        return
    bad = ~np.isfinite(array)
    if bad.any():
        raise ValueError(
            f"Argument `{name}` must be finite, but {int(bad.sum())} of its "
            f"{array.size} values are NaN or infinite (shape {array.shape}). "
            f"First offending index: {tuple(int(i) for i in np.argwhere(bad)[0])}."
        )


def check_positive(name: str, value: Any) -> None:
    """Raises ValueError naming `name` if a concrete `value` is not finite and > 0."""
    check_finite(name, value)
    array = concrete_numpy(value)
    if array is None:
        return
    bad = array <= 0
    if bad.any():
        raise ValueError(
            f"Argument `{name}` must be strictly positive, but {int(bad.sum())} of "
            f"its {array.size} values are <= 0 (smallest: {array.min()!r}, "
            f"shape {array.shape})."
        )


def broadcast_shapes(**shapes: tuple[int | None, ...]) -> tuple[int | None, ...]:
    """Broadcasts named shapes (None = unknown size), naming them on mismatch."""
    rank = max(len(s) for s in shapes.values())
    padded = [(1,) * (rank - len(s)) + tuple(s) for s in shapes.values()]
    result: list[int | None] = []
    for sizes in zip(*padded, strict=True):
        known = {size for size in sizes if size is not None and size != 1}
        if len(known) > 1:
            described = ", ".join(f"`{name}` has shape {tuple(s)}" for name, s in shapes.items())
            raise ValueError(
                f"Distribution parameters must broadcast against each other, but {described}."
            )
        if known:
            result.append(known.pop())
        else:
            result.append(None if None in sizes else 1)
    return tuple(result)


def seed_generator(seed: SeedLike) -> keras.random.SeedGenerator:
    """One SeedGenerator for all draws of a sampling call, so draws are independent."""
    if isinstance(seed, keras.random.SeedGenerator):
        return seed
    if seed is not None and not isinstance(seed, int | np.integer):
        raise TypeError(
            f"Argument `seed` must be an int, a keras.random.SeedGenerator or None. "
            f"Received: seed={seed!r} of type {type(seed).__name__}."
        )
    return keras.random.SeedGenerator(None if seed is None else int(seed))


def as_shape(sample_shape: int | tuple[int, ...] | list[int]) -> tuple[int, ...]:
    """Normalizes a `sample_shape` argument to a tuple of ints."""
    if isinstance(sample_shape, int | np.integer):
        return (int(sample_shape),)
    return tuple(int(s) for s in sample_shape)


def normal_cdf(z: Any) -> Any:
    """Standard normal CDF, Phi(z) = erfc(-z / sqrt 2) / 2 (accurate in the lower tail)."""
    return 0.5 * ops.erfc(-z / SQRT_2)


# Chebyshev fit of erfc (Numerical Recipes, 2nd ed., section 6.2): relative error
# below 1.2e-7 for every x in float64; in float32 about 1e-5 far in the tails,
# where the exponent -x^2 is rounded.
_ERFC_COEFFICIENTS = (
    -1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806,
    0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277,
)  # fmt: skip


def fast_normal_cdf(z: Any) -> Any:
    """Phi(z) with one `exp` and a polynomial; 1.4x faster than `normal_cdf` in the jitted solver.

    For the inner loops of root finders; `normal_cdf` stays the reference.
    """
    a = ops.abs(z) / SQRT_2
    t = 1.0 / (1.0 + 0.5 * a)
    poly = _ERFC_COEFFICIENTS[-1]
    for c in _ERFC_COEFFICIENTS[-2::-1]:
        poly = c + t * poly
    tail = 0.5 * t * ops.exp(poly - ops.square(a))  # Phi(-|z|)
    return ops.where(z > 0, 1.0 - tail, tail)


# Acklam's rational approximation of the normal quantile's tails (relative error
# < 1.2e-9 for p < 0.02425), in q = sqrt(-2 log p): accurate for any p float32 holds.
_TAIL_NUMERATOR = (
    -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00,
    -2.549732539343734e00, 4.374664141464968e00, 2.938163982698783e00,
)  # fmt: skip
_TAIL_DENOMINATOR = (
    7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00,
)  # fmt: skip
_TAIL_REGION = 0.02425


def tail_probability(q: Any) -> tuple[Any, Any]:
    """(p, upper): the smaller tail probability p = min(q, 1 - q) and the mask q > 1/2.

    For NumPy input p is computed in float64 before the cast to Keras' float
    dtype, so upper-tail levels such as 1 - 1e-12 (which float32 rounds to
    1) keep their tail probability. A `(p, upper)` pair passes through: the
    quantile methods of likely's families accept it in place of `q`, which is
    how a mixture asks its components for quantiles far in the upper tail.
    """
    if isinstance(q, tuple) and len(q) == 2 and not isinstance(q[0], int | float):
        return q  # already (p, upper)
    if isinstance(q, np.ndarray | float | int | np.floating | list | tuple):
        q64 = np.asarray(q, dtype=np.float64)
        return as_float_tensor(np.minimum(q64, 1.0 - q64)), ops.convert_to_tensor(q64 > 0.5)
    q = as_float_tensor(q)
    return ops.minimum(q, 1.0 - q), q > 0.5


def normal_lower_quantile(p: Any) -> Any:
    """Phi^-1(p) for p in [0, 1/2]: erfinv in the body, Acklam's tail formula below 0.02425."""
    body = SQRT_2 * ops.erfinv(2.0 * ops.maximum(p, _TAIL_REGION) - 1.0)
    safe = ops.clip(p, 1e-37, _TAIL_REGION)
    t = ops.sqrt(-2.0 * ops.log(safe))
    numerator = _TAIL_NUMERATOR[0]
    for c in _TAIL_NUMERATOR[1:]:
        numerator = numerator * t + c
    denominator = _TAIL_DENOMINATOR[0]
    for c in _TAIL_DENOMINATOR[1:]:
        denominator = denominator * t + c
    tail = numerator / (denominator * t + 1.0)
    x = ops.where(p < _TAIL_REGION, tail, body)
    return ops.where(p <= 0.0, -math.inf, x)


def normal_quantile(q: Any) -> Any:
    """Standard normal quantile Phi^-1(q), accurate in both tails (see `tail_probability`)."""
    p, upper = tail_probability(q)
    z = normal_lower_quantile(p)
    return ops.where(upper, -z, z)


# erfcx(a) = exp(a^2) erfc(a) = t P(t) with t = 1 / (1 + a / 2), a >= 0: P is a
# degree-10 least-squares fit (relative weights, 8,000 Chebyshev nodes in t) to
# scipy.special.erfcx, made for likely. Relative error 1.2e-8 in float64 and
# 2e-7 evaluated in float32, for every a >= 0.
_ERFCX_COEFFICIENTS = (
    0.282094795, 0.282093753, 0.246884593, 0.175315785, 0.0934635405, -0.0592151807,
    0.132185273, -0.454985113, 0.493704111, -0.234737815, 0.0431962629,
)  # fmt: skip
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def normal_tail_and_kernel(z: Any) -> tuple[Any, Any]:
    """(Phi(-|z|), exp(-z^2 / 2)) from one `exp`: the pieces of Phi(z) and of the density.

    Phi(-|z|) = erfcx(|z| / sqrt 2) exp(-z^2 / 2) / 2 keeps its relative
    accuracy (about 3e-7 in float32) as far into the tail as float32 goes;
    Phi(z) is `where(z > 0, 1 - tail, tail)` and the density `kernel / sqrt(2 pi)`.

    Example:
        >>> import numpy as np
        >>> from likely.distributions._base import normal_tail_and_kernel
        >>> tail, kernel = normal_tail_and_kernel(np.array([-8.0, 0.0, 8.0]))
        >>> [f"{v:.6g}" for v in np.asarray(tail)]
        ['6.22096e-16', '0.5', '6.22096e-16']
    """
    t = 1.0 / (1.0 + (0.5 / SQRT_2) * ops.abs(z))
    kernel = ops.exp(-0.5 * ops.square(z))  # z^2, not (z / sqrt 2)^2: one rounding less
    return 0.5 * t * _erfcx_over_t(t) * kernel, kernel


def _erfcx_over_t(t: Any) -> Any:
    poly = _ERFCX_COEFFICIENTS[-1]
    for c in _ERFCX_COEFFICIENTS[-2::-1]:
        poly = c + t * poly
    return poly


def normal_log_cdf_lower(z: Any) -> Any:
    """log Phi(z) for z <= 0, without underflow: log(erfcx(|z| / sqrt 2) / 2) - z^2 / 2."""
    a = -z / SQRT_2
    t = 1.0 / (1.0 + 0.5 * a)
    return ops.log(0.5 * t * _erfcx_over_t(t)) - ops.square(a)


def normal_quantile_lower(p: Any) -> Any:
    """Phi^-1(p) for p in (0, 0.5], accurate in the lower tail (float32: down to p = 1e-37).

    `normal_quantile` (through `erfinv(2p - 1)`) loses 2p - 1 to rounding
    and reaches -inf below p = 3e-8 in float32. Here: the rational start of
    Abramowitz & Stegun 26.2.23 (|error| < 4.5e-4), then two Halley steps on
    log Phi(z) = log p. The upper half follows by symmetry,
    Phi^-1(1 - p) = -Phi^-1(p), with 1 - q computed where q is still exact.

    Example:
        >>> import numpy as np
        >>> from likely.distributions._base import normal_quantile_lower
        >>> [f"{v + 0.0:.6f}" for v in np.asarray(normal_quantile_lower(np.array([1e-12, 0.5])))]
        ['-7.034484', '0.000000']
    """
    p = ops.minimum(p, 0.5)
    log_p = ops.log(p)
    t = ops.sqrt(-2.0 * log_p)
    z = -(t - (2.515517 + t * (0.802853 + t * 0.010328))
          / (1.0 + t * (1.432788 + t * (0.189269 + t * 0.001308))))  # fmt: skip
    for _ in range(2):
        z = ops.minimum(z, 0.0)
        a = -z / SQRT_2
        u = 1.0 / (1.0 + 0.5 * a)
        tail = 0.5 * u * _erfcx_over_t(u)  # Phi(z) exp(z^2 / 2)
        g = ops.log(tail) - ops.square(a) - log_p  # log Phi(z) - log p
        ratio = INV_SQRT_2PI / tail  # phi(z) / Phi(z) = d log Phi / dz
        newton = g / ratio
        # Halley: G'' / G' = -z - ratio for G = log Phi.
        z = z - newton / (1.0 - 0.5 * newton * (-z - ratio))
    return ops.minimum(z, 0.0)


def normal_log_pdf(z: Any, scale: Any) -> Any:
    """log N(x | loc, scale) written with z = (x - loc) / scale."""
    return -0.5 * ops.square(z) - ops.log(scale) - LOG_SQRT_2PI


def check_positive_int(name: str, value: Any) -> int:
    """`value` as an int >= 1, or a ValueError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(
            f"Argument `{name}` must be a positive integer. Received: {name}={value!r}"
        )
    return int(value)


def check_min_scale(value: Any) -> float:
    """A non-negative float scale floor, or a ValueError."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ValueError(
            f"Argument `min_scale` must be a non-negative number. Received: min_scale={value!r}"
        )
    return float(value)


def positive_scale(raw: Any, min_scale: float) -> Any:
    """softplus(raw) + min_scale: the map from a head's outputs to a scale."""
    return ops.softplus(raw) + min_scale


def float64_batch(batch_shape: tuple[int, ...], *tensors: Any) -> tuple[np.ndarray, ...]:
    """Tensors as float64 NumPy arrays broadcast to `batch_shape` (for NumPy-side scores)."""
    return tuple(
        np.broadcast_to(np.asarray(ops.convert_to_numpy(t), np.float64), batch_shape)
        for t in tensors
    )


def check_params_width(family: str, params: Any, expected: int) -> None:
    """A head's parameter tensor must end in `expected` numbers."""
    width = params.shape[-1] if len(params.shape) else None
    if width is not None and width != expected:
        raise ValueError(
            f"The {family} family needs {expected} unconstrained parameters on the last axis "
            f"(params_size); received a tensor of shape {tuple(params.shape)}."
        )
