import keras
import numpy as np
import pytest
from keras import ops

from likely.distributions import _solve

pytestmark = pytest.mark.backends


def sqrt_init(params, inputs):
    return (ops.ones_like(inputs) * params[0],)


def sqrt_step(params, inputs, state):
    """Newton for x^2 = a (a per row, inputs unused): done when already accurate."""
    (x,) = state
    a = params[0]
    done = ops.abs(x * x - a) <= 1e-6 * a
    return (ops.where(done, x, 0.5 * (x + a / x)),), done


def sqrt_rows(count, seed=0):
    # Starting at a, Newton needs about log2(log a) steps: 1 for a near 1,
    # about 20 for a = 1e6, so elements finish in different rounds.
    rng = np.random.default_rng(seed)
    return np.exp(rng.uniform(0.0, 14.0, size=count)).astype(keras.backend.floatx())


@pytest.mark.parametrize("count", [1, 7, 4097, 70_000])
def test_every_element_converges_across_blocks_and_rounds(count):
    rng = np.random.default_rng(0)
    a = sqrt_rows(count // 2 + 1)
    rows = rng.integers(0, len(a), size=count)
    (x,) = _solve.solve(
        sqrt_init, sqrt_step, (a,), rows, np.zeros(count, a.dtype), max_steps=60, steps_per_call=3
    )
    assert x.shape == (count,)
    np.testing.assert_allclose(x, np.sqrt(a[rows]), rtol=2e-6)


def test_no_elements():
    (out,) = _solve.solve(
        sqrt_init, sqrt_step, (np.ones(3, "float32"),), np.zeros(0, int), np.zeros(0),
        max_steps=10, steps_per_call=2,
    )  # fmt: skip
    assert out.shape == (0,)


# A problem of L elements per row: x^2 = a_row * level, levels in the inputs.
def _prepare(a):
    return (ops.convert_to_tensor(a),)


def _init(params, levels):
    return (ops.ones_like(levels) * params[0] * levels,)


def _step(params, levels, state):
    (x,) = state
    target = params[0] * levels
    done = ops.abs(x * x - target) <= 1e-6 * target
    return (ops.where(done, x, 0.5 * (x + target / x)),), done


def _finish(state, levels):
    return state[0]


SQRT = _solve.Problem(_prepare, _init, _step, _finish, max_steps=60, first_steps=2)


@pytest.mark.parametrize("count", [3, 1500, 40_000])
def test_rows_solved_in_blocks_with_compaction(count):
    # The host path (few elements), blocks of 2,048 and of 16,384 rows padded
    # at the end; elements converge
    # after 1 to 20 steps, so the compacted lists are used and overflow.
    a = sqrt_rows(count, seed=1)
    levels = np.array([[1.0], [3.0], [0.5]], a.dtype) * np.ones((1, count), a.dtype)
    x = _solve.solve_rows(SQRT, (a,), levels)
    assert x.shape == (3, count)
    np.testing.assert_allclose(x, np.sqrt(a * levels), rtol=2e-6)


def test_rows_inside_a_compiled_function():
    if keras.backend.backend() != "jax":
        pytest.skip("traced solving with early stops is JAX's")
    import jax

    a = sqrt_rows(100, seed=2)
    levels = np.full((2, 100), 2.0, a.dtype)
    x = jax.jit(lambda a, levels: _solve.solve_traced(SQRT, (a,), levels))(a, levels)
    np.testing.assert_allclose(np.asarray(x), np.sqrt(2 * a) * np.ones((2, 1)), rtol=2e-6)
