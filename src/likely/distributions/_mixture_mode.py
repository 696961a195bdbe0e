"""Modes of normal mixtures: the highest of two climbs, one from each of two starts.

Starts: the component location of highest mixture density, and the mixture
mean (which leads to the peak that broad overlapping components build
between their locations, which a start on a narrow component misses).

Scalar events climb by safeguarded Newton steps on log p(x): Newton where
log p is concave, a mean-shift step elsewhere (mean-shift steps increase a
normal mixture's density monotonically), and a Newton step that lowered the
density is undone and replaced by the mean-shift step from the same point.
Near a peak Newton converges quadratically, where mean-shift alone crawls
over flat tops. An element is one (start, row) pair, so each climb stops as
soon as it has converged. Vector events (the joint mode) climb by mean-shift
alone, both starts in one element.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from keras import ops

from likely.distributions import _solve

# A Newton step shorter than this fraction of the peak's width (1 / sqrt of
# the curvature of its components) ends the climb, after it is taken.
_NEWTON_TOLERANCE = 1e-4
# A trial point counts as lower than the last accepted one only by more than
# this (float32 noise of log p on flat tops), and where log p is not concave
# the trial is this many mean-shift steps.
_NOISE = 1e-6
_GAIN_TOLERANCE = 1e-7
_OVER_RELAX = 4.0
_MAX_STEPS = 100
_FIRST_STEPS = 4
# Mean-shift (vector events): stop when a step moves by less than 1e-6 (1 + |x|).
_SHIFT_TOLERANCE = 1e-6
_SHIFT_FIRST_STEPS = 8
_STARTS = np.array([[0.0], [1.0]], "float32")  # (2, 1): the best location, the mean


def solve(rows: tuple[np.ndarray, ...]) -> np.ndarray:
    """Modes of concrete rows `(logits (R, K), loc (R, K, E), scale (R, K, E))`: (E, R)."""
    count, _, event = rows[1].shape
    if event == 1:
        scalar = (rows[0], rows[1][..., 0], rows[2][..., 0])
        starts = np.broadcast_to(_STARTS, (2, count)).astype(rows[1].dtype)
        return _solve.solve_rows(SCALAR, scalar, starts)
    return _solve.solve_rows(JOINT, rows, np.zeros((1, count), rows[1].dtype))


def solve_traced(rows: tuple[Any, ...]) -> Any:
    """The same on symbolic tensors: (E, R)."""
    count, _, event = rows[1].shape
    if event == 1:
        scalar = (rows[0], rows[1][..., 0], rows[2][..., 0])
        starts = ops.cast(ops.broadcast_to(_STARTS, (2, count)), rows[1].dtype)
        return _solve.solve_traced(SCALAR, scalar, starts)
    return _solve.solve_traced(JOINT, rows, ops.zeros((1, count), rows[1].dtype))


# -- scalar events: safeguarded Newton, one element per (start, row) ---------------
def _scalar_prepare(logits: Any, loc: Any, scale: Any) -> tuple[Any, ...]:
    """Rows (B, K) -> per component (K, B): log peak height (max 0), location, 1 / scale^2;
    per row (B,): the two starts and the span of the locations (which holds every mode)."""
    log_w = ops.log_softmax(ops.transpose(logits), axis=0)
    loc, scale = ops.transpose(loc), ops.transpose(scale)
    log_peak = log_w - ops.log(scale)
    log_peak = log_peak - ops.max(log_peak, axis=0)
    inv_var = 1.0 / ops.square(scale)
    # The density at every location j (up to a constant): terms (k, j, B), summed over k.
    offset = ops.expand_dims(loc, 1) - ops.expand_dims(loc, 0)
    (density,) = _solve.sum_over_components(
        ops.exp(
            ops.expand_dims(log_peak, 1) - 0.5 * ops.square(offset) * ops.expand_dims(inv_var, 1)
        )
    )
    best = ops.expand_dims(ops.argmax(density, axis=0), 0)
    best_x = ops.take_along_axis(loc, best, axis=0)[0]
    (mean,) = _solve.sum_over_components(ops.exp(log_w) * loc)
    lowest, highest = _solve.extremes_over_components(loc, loc)
    return log_peak, loc, inv_var, best_x, mean, lowest, highest


def _scalar_init(params: tuple[Any, ...], starts: Any) -> tuple[Any, ...]:
    *_, best_x, mean, _, _ = params
    x = ops.where(starts < 0.5, best_x, mean)
    lowest = ops.full_like(x, -np.inf)
    return x, x, lowest, ops.zeros_like(x), lowest


def _scalar_step(params: tuple[Any, ...], starts: Any, state: tuple[Any, ...]) -> Any:
    """One safeguarded Newton step on log p(x).

    State: the trial point x; the safe point (the mean-shift step from the
    last accepted point, which cannot be lower than it); the log density of
    the last accepted point; whether x is a trial that may be rejected; and
    the climb's height (the log density of its last accepted point).

    Where log p is concave the trial is the Newton step, elsewhere four
    mean-shift steps (over-relaxed: a single one crawls over flat tops). A
    trial that lowered the density is pulled back towards the safe point.
    """
    log_peak, loc, inv_var, _, _, lowest, highest = params
    x, safe, previous, trial, _ = state
    offset = loc - x  # (K, L, B)
    r = ops.exp(log_peak - 0.5 * ops.square(offset) * inv_var)
    weighted = r * inv_var
    total, gradient, curvature, spread = _solve.sum_over_components(
        r, weighted * offset, weighted, weighted * inv_var * ops.square(offset)
    )
    alive = total > 0  # else every component underflows here: give this start up
    height = ops.where(alive, ops.log(ops.where(alive, total, 1.0)), -np.inf)
    # A trial may land lower by float32 noise on a flat top: let that pass.
    rejected = (trial > 0) & (height < previous - _NOISE)
    # d log p / dx and d^2 log p / dx^2; the mean-shift step is gradient / curvature.
    slope = gradient / total
    bend = (spread - curvature) / total - ops.square(slope)
    shift = gradient / curvature
    width = ops.sqrt(total / curvature)  # about the scale of the dominant components here
    concave = bend < 0
    step = ops.where(concave, -slope / ops.where(concave, bend, -1.0), _OVER_RELAX * shift)
    # Done: a short Newton step, or a step whose first-order gain in log p is
    # below float32 resolution (flat tops, shoulders, a start on a minimum).
    converged = ~rejected & (
        (concave & (ops.abs(step) <= _NEWTON_TOLERANCE * width))
        | (ops.abs(slope * step) <= _GAIN_TOLERANCE)
    )
    pulled_back = safe + 0.25 * (x - safe)
    new_x = ops.where(rejected, pulled_back, ops.clip(x + step, lowest, highest))
    new_safe = ops.where(rejected, safe, x + shift)
    new_previous = ops.where(rejected, previous, height)
    # Once pulled back to the safe point, the next point is accepted.
    new_trial = ops.where(
        rejected & (ops.abs(pulled_back - safe) <= _NEWTON_TOLERANCE * width), 0.0, 1.0
    )
    done = converged | ~alive
    return (new_x, new_safe, new_previous, new_trial, new_previous), done


def _scalar_finish(state: tuple[Any, ...], _: Any) -> Any:
    """The higher of the two climbs' end points: (1, B)."""
    x, height = state[0], state[4]  # (2, B)
    return ops.expand_dims(ops.where(height[1] > height[0], x[1], x[0]), 0)


SCALAR = _solve.Problem(
    prepare=_scalar_prepare,
    init=_scalar_init,
    step=_scalar_step,
    finish=_scalar_finish,
    max_steps=_MAX_STEPS,
    first_steps=_FIRST_STEPS,
)


# -- vector events: two mean-shift climbs per element -------------------------------
def _joint_prepare(logits: Any, loc: Any, scale: Any) -> tuple[Any, ...]:
    """Rows (B, K), (B, K, E) -> log(weight / normalizer) (K, B), loc, 1 / scale^2 (K, E, B)."""
    log_w = ops.log_softmax(logits, axis=-1)
    log_peak = ops.transpose(log_w - ops.sum(ops.log(scale), axis=-1))
    loc = ops.transpose(loc, (1, 2, 0))
    inv_var = ops.transpose(1.0 / ops.square(scale), (1, 2, 0))
    return log_peak, loc, inv_var, ops.transpose(log_w)


def _log_term(params: tuple[Any, ...], k: Any, x: Any) -> Any:
    """log(w_k N(x | loc_k, scale_k)) up to a constant."""
    log_peak, loc, inv_var, _ = params
    return log_peak[k] - 0.5 * ops.sum(ops.square(x - loc[k]) * inv_var[k], axis=0)


def _log_density(params: tuple[Any, ...], x: Any) -> Any:
    """log of the mixture density at x (E, ...), up to a constant."""
    count = params[0].shape[0]
    top = _top_term(params, x)
    (total,) = _solve.over_components(
        count, lambda k, c: (c[0] + ops.exp(_log_term(params, k, x) - top),), (ops.zeros_like(top),)
    )
    return top + ops.log(total)


def _top_term(params: tuple[Any, ...], x: Any) -> Any:
    """max_k of `_log_term`: the shift that keeps the exponentials finite."""

    def larger(k: Any, carry: tuple[Any]) -> tuple[Any]:
        return (ops.maximum(carry[0], _log_term(params, k, x)),)

    return _solve.over_components(params[0].shape[0], larger, (_log_term(params, 0, x),))[0]


def _joint_init(params: tuple[Any, ...], _: Any) -> tuple[Any, ...]:
    """(best, climb from the best component location, climb from the mean), each (E, ...)."""
    _, loc, _, log_w = params
    count = loc.shape[0]

    def best_location(k: Any, carry: tuple[Any, Any]) -> tuple[Any, Any]:
        best_x, best = carry
        density = _log_density(params, loc[k])
        return ops.where(density > best, loc[k], best_x), ops.maximum(density, best)

    best_x, _ = _solve.over_components(count, best_location, (loc[0], _log_density(params, loc[0])))
    w = ops.exp(log_w)
    (mean,) = _solve.over_components(
        count, lambda k, c: (c[0] + w[k] * loc[k],), (ops.zeros_like(best_x),)
    )
    return best_x, best_x, mean


def _joint_step(params: tuple[Any, ...], _: Any, state: tuple[Any, ...]) -> Any:
    """One mean-shift step from each start; the solution is the higher of the two."""
    _, first, second = state
    first, first_density, first_done = _mean_shift(params, first)
    second, second_density, second_done = _mean_shift(params, second)
    best = ops.where(second_density > first_density, second, first)
    return (best, first, second), first_done & second_done


def _mean_shift(params: tuple[Any, ...], x: Any) -> tuple[Any, Any, Any]:
    """x <- sum_k r_k loc_k / scale_k^2 / sum_k r_k / scale_k^2; also log p(x) + const, done."""
    _, loc, inv_var, _ = params
    count = loc.shape[0]
    top = _top_term(params, x)

    def accumulate(k: Any, carry: tuple[Any, ...]) -> tuple[Any, ...]:
        total, numerator, denominator = carry
        r = ops.exp(_log_term(params, k, x) - top)
        return total + r, numerator + r * inv_var[k] * loc[k], denominator + r * inv_var[k]

    zero = ops.zeros_like(x)
    total, numerator, denominator = _solve.over_components(
        count, accumulate, (ops.zeros_like(top), zero, zero)
    )
    new_x = numerator / denominator
    done = ops.all(ops.abs(new_x - x) <= _SHIFT_TOLERANCE * (1.0 + ops.abs(x)), axis=0)
    return new_x, top + ops.log(total), done


def _joint_finish(state: tuple[Any, ...], _: Any) -> Any:
    return state[0][..., 0, :]  # (E, 1, B) -> (E, B)


JOINT = _solve.Problem(
    prepare=_joint_prepare,
    init=_joint_init,
    step=_joint_step,
    finish=_joint_finish,
    max_steps=_MAX_STEPS,
    first_steps=_SHIFT_FIRST_STEPS,
)
