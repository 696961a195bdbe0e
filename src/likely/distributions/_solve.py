"""Per-element iterative solvers (mixture quantiles and modes) over large batches.

A quantile or a mode of a mixture has no closed form: each element of a batch
needs its own short iteration, and most elements converge in a handful of
steps while a few need many. Running every element for the slowest one's
number of steps wastes most of the work, so the solver keeps an *active set*:
it advances all unconverged elements by a few steps, drops the converged
ones, and repeats on the rest.

The elements are processed in blocks of a fixed power-of-two size, each with
its rows' parameters gathered, so a problem compiles once per block size
and parameter shape. On the JAX backend a block's steps run as one jitted
XLA computation; on the other backends they run op by op.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
from keras import ops

Params = tuple[Any, ...]
State = tuple[Any, ...]
InitFn = Callable[[Params, Any], State]
StepFn = Callable[[Params, Any, State], tuple[State, Any]]

# Two block sizes, so that a problem compiles for at most two shapes per shape
# of its parameters (each with and without the initialization): large blocks
# for throughput, small ones for small batches and for the few slow elements
# left after the first rounds.
_LARGE_BLOCK = 1 << 16
_SMALL_BLOCK = 1 << 12


def solve(
    init: InitFn,
    step: StepFn,
    params: tuple[np.ndarray, ...],
    rows: np.ndarray,
    inputs: np.ndarray,
    *,
    max_steps: int,
    steps_per_call: int,
) -> np.ndarray:
    """Runs an element-wise iteration to convergence; returns the solutions.

    The solution is `state[0]`, returned with the element axis first: (N, ...).

    Args:
        init: `init(params, inputs) -> state`, on one block: `params` are the
            block's rows with the element axis moved last, `(..., B)`, and
            `inputs` the elements' own inputs (B,). State arrays end in B too.
        step: `step(params, inputs, state) -> (state, done)`: one iteration;
            `done` (B,) marks converged elements, which further steps must
            leave converged.
        params: Per-row parameter arrays, all with R rows.
        rows: The row of each element, (N,) integers in [0, R).
        inputs: Each element's own input, (N,).
        max_steps: Most steps for any element.
        steps_per_call: Steps per block between convergence checks.
    """
    count = len(rows)
    if count == 0:
        return np.zeros((0,), keras.backend.floatx())
    advance = _compiled(init, step, steps_per_call)
    state: list[np.ndarray] = []
    active: np.ndarray | None = None  # None: every element (the first round)
    for taken in range(0, max_steps, steps_per_call):
        still: list[np.ndarray] = []
        size = count if active is None else len(active)
        block = _LARGE_BLOCK if size > _SMALL_BLOCK else _SMALL_BLOCK
        pending = None
        for start in range(0, size, block):
            if active is None:
                index: slice | np.ndarray = slice(start, min(start + block, count))
                block_state = None
            else:
                index = active[start : start + block]
                block_state = tuple(_pad(s[..., index], block, axis=-1) for s in state)
            block_rows = rows[index]
            # Dispatch this block, then collect the previous one while it runs.
            result = advance(
                _gather(params, block_rows, block),
                _pad(inputs[index], block),
                block_state,
                taken == 0,
            )
            if pending is not None:
                still.append(_collect(state, count, *pending))
            pending = (index, len(block_rows), result)
        assert pending is not None
        still.append(_collect(state, count, *pending))
        active = np.concatenate(still)
        if not len(active):
            break
    return np.moveaxis(state[0], -1, 0)


def _gather(params: tuple[np.ndarray, ...], rows: np.ndarray, size: int) -> tuple[Any, ...]:
    """The rows' parameters, padded to `size`; a view when the rows are consecutive."""
    first = int(rows[0])
    if rows[-1] - first == len(rows) - 1 and np.all(np.diff(rows) == 1):
        return tuple(_pad(p[first : first + len(rows)], size) for p in params)
    return tuple(np.take(p, _pad(rows, size), axis=0) for p in params)


def _pad(array: np.ndarray, size: int, axis: int = 0) -> np.ndarray:
    """`array` extended to `size` along `axis` by repeating its last entry."""
    missing = size - array.shape[axis]
    if not missing:
        return array
    last = np.take(array, [-1], axis=axis)
    return np.concatenate([array, np.repeat(last, missing, axis=axis)], axis=axis)


def _collect(
    state: list[np.ndarray], count: int, index: slice | np.ndarray, size: int, result: Any
) -> np.ndarray:
    """Writes a block's new state into `state`; returns its unconverged elements."""
    new_state, done = result
    new_state = [np.asarray(ops.convert_to_numpy(s))[..., :size] for s in new_state]
    if not state:
        state.extend(np.empty(s.shape[:-1] + (count,), s.dtype) for s in new_state)
    for full, part in zip(state, new_state, strict=True):
        full[..., index] = part
    unconverged = np.flatnonzero(~np.asarray(ops.convert_to_numpy(done))[:size])
    if isinstance(index, slice):
        return unconverged + index.start
    return index[unconverged]


@functools.cache
def _compiled(init: InitFn, step: StepFn, steps_per_call: int) -> Callable[..., Any]:
    """One block's work: gather its rows, (initialize,) take `steps_per_call` steps."""

    def advance(params: Params, inputs: Any, state: State | None, first: bool) -> Any:
        params = tuple(ops.moveaxis(ops.convert_to_tensor(p), 0, -1) for p in params)
        inputs = ops.convert_to_tensor(inputs, keras.backend.floatx())
        if first:
            state = init(params, inputs)
        else:
            state = tuple(ops.convert_to_tensor(s) for s in state)
        done = None
        for _ in range(steps_per_call):
            state, done = step(params, inputs, state)
        return state, done

    if keras.backend.backend() == "jax":
        import jax

        return jax.jit(advance, static_argnames="first")
    return advance
