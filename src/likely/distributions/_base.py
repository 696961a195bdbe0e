"""Shared machinery of likely's distributions: tensor conversion, validation, seeds."""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
from keras import ops

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


def normal_quantile(q: Any) -> Any:
    """Standard normal quantile, Phi^-1(q) = sqrt 2 * erfinv(2q - 1)."""
    return SQRT_2 * ops.erfinv(2.0 * q - 1.0)


def normal_log_pdf(z: Any, scale: Any) -> Any:
    """log N(x | loc, scale) written with z = (x - loc) / scale."""
    return -0.5 * ops.square(z) - ops.log(scale) - LOG_SQRT_2PI
