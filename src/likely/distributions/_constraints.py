"""Constraints on parameters and supports, checked on concrete values.

Modelled on `torch.distributions.constraints`: a family declares the
constraint of each parameter (`arg_constraints`) and of its values
(`support`); constructors check concrete parameters against them with a
message naming the parameter, its shape and the constraint. Values inside a
traced (jitted) computation are not checked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Constraint:
    """A set of allowed values.

    Attributes:
        name: What the set is, for messages ("a real number", "> 0", ...).
        lower: Smallest value of a scalar set (inclusive), or -inf.
        upper: Largest value of a scalar set (inclusive), or +inf.
        discrete: Whether the set is countable (counts, labels, booleans).
        event_ndims: Number of trailing axes one element of the set spans
            (0 for scalars, 1 for a simplex, 2 for a matrix).
    """

    name: str
    lower: float = -math.inf
    upper: float = math.inf
    discrete: bool = False
    event_ndims: int = 0

    def check(self, value: np.ndarray) -> np.ndarray:
        """Boolean array: which scalar entries of `value` lie in the set."""
        value = np.asarray(value)
        ok = np.isfinite(value) if self.lower == -math.inf and self.upper == math.inf else True
        ok = ok & (value >= self.lower) & (value <= self.upper)
        if self.discrete:
            ok = ok & (value == np.round(value))
        return np.asarray(ok)

    @property
    def is_bounded_below(self) -> bool:
        return self.lower > -math.inf

    @property
    def is_bounded_above(self) -> bool:
        return self.upper < math.inf

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class _GreaterThan(Constraint):
    """Strictly greater than `lower` (finite values only)."""

    def check(self, value: np.ndarray) -> np.ndarray:
        value = np.asarray(value)
        return np.isfinite(value) & (value > self.lower)


@dataclass(frozen=True)
class _Simplex(Constraint):
    """Non-negative vectors summing to one along the last axis."""

    def check(self, value: np.ndarray) -> np.ndarray:
        value = np.asarray(value)
        ok = np.isfinite(value) & (value >= 0)
        total = np.sum(value, axis=-1, keepdims=True)
        return ok & (np.abs(total - 1.0) < 1e-5)


@dataclass(frozen=True)
class _LowerCholesky(Constraint):
    """Lower-triangular square matrices with a positive diagonal."""

    def check(self, value: np.ndarray) -> np.ndarray:
        value = np.asarray(value)
        upper = np.triu(np.ones(value.shape[-2:], dtype=bool), k=1)
        ok = np.isfinite(value) & ~(upper & (value != 0))
        diagonal = np.diagonal(value, axis1=-2, axis2=-1)
        positive = np.broadcast_to((diagonal > 0)[..., None, :], value.shape)
        eye = np.eye(value.shape[-1], dtype=bool)
        return ok & (~eye | positive)


real = Constraint("a finite real number")
positive = _GreaterThan("a finite number > 0", lower=0.0)
nonnegative = Constraint("a finite number >= 0", lower=0.0)
unit_interval = Constraint("a number in [0, 1]", lower=0.0, upper=1.0)
boolean = Constraint("0 or 1", lower=0.0, upper=1.0, discrete=True)
simplex = _Simplex("non-negative weights summing to 1 along the last axis", event_ndims=1)
lower_cholesky = _LowerCholesky("a lower-triangular matrix with a positive diagonal", event_ndims=2)
real_vector = Constraint("a finite real vector", event_ndims=1)


def greater_than(lower: float) -> Constraint:
    """Values strictly greater than `lower`."""
    return _GreaterThan(f"a finite number > {lower:g}", lower=float(lower))


def interval(lower: float, upper: float) -> Constraint:
    """Values in the closed interval [lower, upper]."""
    return Constraint(f"a number in [{lower:g}, {upper:g}]", lower=float(lower), upper=float(upper))


def integer_interval(lower: int, upper: int) -> Constraint:
    """Integers from `lower` to `upper` inclusive (class labels)."""
    return Constraint(
        f"an integer in [{lower}, {upper}]", lower=float(lower), upper=float(upper), discrete=True
    )


__all__ = [
    "Constraint",
    "boolean",
    "greater_than",
    "integer_interval",
    "interval",
    "lower_cholesky",
    "nonnegative",
    "positive",
    "real",
    "real_vector",
    "simplex",
    "unit_interval",
]
