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


@pytest.mark.parametrize("count", [1, 7, 4097, 70_000])
def test_every_element_converges_across_blocks_and_rounds(count):
    rng = np.random.default_rng(0)
    # Starting at a, Newton needs about log2(log a) steps: 1 for a near 1,
    # about 20 for a = 1e6, so elements finish in different rounds.
    a = np.exp(rng.uniform(0.0, 14.0, size=count // 2 + 1)).astype(keras.backend.floatx())
    rows = rng.integers(0, len(a), size=count)
    x = _solve.solve(
        sqrt_init, sqrt_step, (a,), rows, np.zeros(count, a.dtype), max_steps=60, steps_per_call=3
    )
    assert x.shape == (count,)
    np.testing.assert_allclose(x, np.sqrt(a[rows]), rtol=2e-6)


def test_no_elements():
    out = _solve.solve(
        sqrt_init, sqrt_step, (np.ones(3, "float32"),), np.zeros(0, int), np.zeros(0),
        max_steps=10, steps_per_call=2,
    )  # fmt: skip
    assert out.shape == (0,)
