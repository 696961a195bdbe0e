"""Quantiles of normal mixtures: a safeguarded Halley search on log F, on the tail's own side.

An element is one (probability, row) pair; a row holds one mixture of K
normals (one event dimension of one batch element). A probability q is
solved as a *lower-tail* problem of probability p = min(q, 1 - q): for
q >= 1/2 the mixture is reflected (locations negated), since the upper
q-quantile of X is minus the lower (1 - q)-quantile of -X. The search solves
log F(x) = log p, so the relative accuracy of F, and of the quantile, holds
as far into the tails as float32 goes (p = 1e-12 and beyond), where a search
on F(x) - q with an absolute tolerance stops early and `erfinv(2q - 1)`
starts at -inf.

The root lies between the smallest and largest of the components'
p-quantiles (each `loc + scale * Phi^-1(p)`), which bracket the search.
Halley steps that leave this shrinking bracket, or that follow a step which
did not at least halve |log F - log p| (a non-convex CDF can make Newton-type
steps cycle), are replaced by bisection, so every element converges.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from keras import ops

from likely.distributions import _base, _solve

# Stops: |log F(x) - log p| <= _TOLERANCE (the CDF's relative error), or the
# bracket shrunk to float32 resolution. A Halley step taken from a relative
# error below _ACCEPT lands within about 1e-10: accepted without another
# evaluation.
_TOLERANCE = 1e-6
_ACCEPT = 1e-4
_MAX_STEPS = 60
_FIRST_STEPS = 3
# The bracket's ends move out by this relative margin, so that the float32
# error of Phi^-1(p) cannot put the root outside it.
_BRACKET_MARGIN = 1e-6


def solve(rows: tuple[np.ndarray, ...], signed_p: np.ndarray) -> np.ndarray:
    """Quantiles of concrete rows `(logits, loc, scale)`, each (R, K), at `signed_p` (L, R).

    `signed_p` holds p = min(q, 1 - q) in (0, 1/2], negated for the upper
    side (q >= 1/2). Returns x (L, R).
    """
    return _solve.solve_rows(PROBLEM, rows, signed_p)


def solve_traced(rows: tuple[Any, ...], signed_p: Any) -> Any:
    """The same on symbolic tensors."""
    return _solve.solve_traced(PROBLEM, rows, signed_p)


def signed_tail(q: Any) -> Any:
    """p = min(q, 1 - q), negated where q >= 1/2 (use float64 q where 1 - q must stay exact)."""
    return ops.where(q < 0.5, q, q - 1.0)


def _prepare(logits: Any, loc: Any, scale: Any) -> tuple[Any, ...]:
    """Rows (B, K) -> weights, locations, scales, 1 / scales, density weights (K, B),
    and the rows' moment-matched normal (B,)."""
    w = ops.softmax(ops.transpose(logits), axis=0)
    loc, scale = ops.transpose(loc), ops.transpose(scale)
    (mean,) = _solve.sum_over_components(w * loc)
    (variance,) = _solve.sum_over_components(w * (ops.square(scale) + ops.square(loc - mean)))
    inv_scale = 1.0 / scale
    return w, loc, scale, inv_scale, w * inv_scale * _base.INV_SQRT_2PI, mean, ops.sqrt(variance)


def _split(signed_p: Any) -> tuple[Any, Any]:
    """(p, side): side +1 for the lower tail, -1 for the upper tail (a reflected mixture)."""
    return ops.abs(signed_p), ops.where(signed_p > 0, 1.0, -1.0)


def _init(params: tuple[Any, ...], signed_p: Any) -> tuple[Any, ...]:
    """Start at the moment-matched normal's quantile, inside the components' quantile bracket.

    State: x, the bracket (lo, hi), the last |log F(x) - log p| and log p.
    """
    _, loc, scale, _, _, mean, sd = params  # (K, 1, B), (1, B)
    p, side = _split(signed_p)
    z = _base.normal_quantile_lower(p)
    margin = _BRACKET_MARGIN * (1.0 + ops.abs(z))
    shifted = side * loc  # (K, L, B)
    lo, hi = _solve.extremes_over_components(
        shifted + scale * (z - margin), shifted + scale * (z + margin)
    )
    x = ops.clip(side * mean + sd * z, lo, hi)
    return x, lo, hi, ops.full_like(x, math.inf), ops.log(p) + ops.zeros_like(x)


def _step(params: tuple[Any, ...], signed_p: Any, state: tuple[Any, ...]) -> Any:
    """One safeguarded Halley step on G(x) = log F(x) - log p (F of the reflected mixture)."""
    w, loc, _, inv_scale, density_weight, _, _ = params
    x, lo, hi, residual, log_p = state
    side = ops.where(signed_p > 0, 1.0, -1.0)
    z = (x - side * loc) * inv_scale  # (K, L, B)
    tail, kernel = _base.normal_tail_and_kernel(z)
    density = density_weight * kernel
    cdf, pdf, slope = _solve.sum_over_components(
        w * ops.where(z > 0, 1.0 - tail, tail), density, -density * z * inv_scale
    )
    g = ops.log(cdf) - log_p
    error = ops.abs(g)
    converged = (error <= _TOLERANCE) | ((hi - lo) <= 6e-8 * (ops.abs(lo) + ops.abs(hi)))
    below = g < 0
    lo = ops.where(below, x, lo)
    hi = ops.where(below, hi, x)
    ratio = cdf / pdf
    newton = g * ratio  # G / G'
    # Halley: 1 - G G'' / (2 G'^2), with G'' / G' = F'' / F' - F' / F.
    halley = 1.0 - 0.5 * g * (ratio * slope / pdf - 1.0)
    candidate = x - ops.where((halley > 0.5) & (halley < 2.0), newton / halley, newton)
    inside = (candidate > lo) & (candidate < hi) & (error <= 0.5 * residual)
    x = ops.where(converged, x, ops.where(inside, candidate, 0.5 * (lo + hi)))
    done = converged | (inside & (error <= _ACCEPT))
    return (x, lo, hi, error, log_p), done


def _finish(state: tuple[Any, ...], signed_p: Any) -> Any:
    return state[0] * _split(signed_p)[1]


PROBLEM = _solve.Problem(
    prepare=_prepare,
    init=_init,
    step=_step,
    finish=_finish,
    max_steps=_MAX_STEPS,
    first_steps=_FIRST_STEPS,
)
