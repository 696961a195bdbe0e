"""Mixture quantiles in the tails, against SciPy (float64 root finding on log CDF / log SF)."""

import keras
import numpy as np
import pytest
from scipy import optimize, special, stats

from likely.distributions import MixtureNormal

pytestmark = pytest.mark.backends

LOWER = np.array([1e-12, 1e-9, 1e-6, 1e-3, 0.02])
TAILS = np.concatenate([LOWER, [0.5], 1 - LOWER[::-1]])  # q in float64: 1 - 1e-12 is exact enough


def np_(x):
    return np.asarray(keras.ops.convert_to_numpy(x), dtype=float)


def random_mixtures(n, k, seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, k))
    loc = rng.uniform(20.0, 30.0, size=(n, k))  # tails away from 0: relative errors mean something
    scale = rng.uniform(0.1, 1.5, size=(n, k))
    return logits, loc, scale


def reference_quantile(logits, loc, scale, q):
    """Root of log F(x) = log q (q < 1/2) or log S(x) = log(1 - q), in float64."""
    log_w = logits - special.logsumexp(logits)
    upper = q >= 0.5
    target = np.log1p(-q) if upper else np.log(q)
    tail = stats.norm.logsf if upper else stats.norm.logcdf

    def gap(x):
        return special.logsumexp(log_w + tail(x, loc, scale)) - target

    z = special.ndtri(min(q, 1 - q))
    ends = loc + scale * (-z if upper else z)
    return optimize.brentq(gap, ends.min() - 1e-9, ends.max() + 1e-9, xtol=1e-14, rtol=1e-15)


@pytest.mark.parametrize("k", [1, 4])
def test_tail_quantiles_match_scipy_to_1e_6_relative(k):
    logits, loc, scale = random_mixtures(30, k, seed=k)
    d = MixtureNormal(logits, loc, scale)
    x = np_(d.quantile(TAILS[:, None]))  # (11, 30), q in float64
    expected = np.array(
        [[reference_quantile(logits[i], loc[i], scale[i], q) for i in range(30)] for q in TAILS]
    )
    assert np.all(np.isfinite(x))
    np.testing.assert_allclose(x, expected, rtol=1e-6)


def test_tails_of_many_rows_solved_in_compiled_blocks():
    # 3,000 rows x 4 levels: solved in blocks (on JAX, one compiled search per block).
    logits, loc, scale = random_mixtures(3000, 5, seed=7)
    d = MixtureNormal(logits, loc, scale)
    levels = np.array([1e-12, 1e-7, 1 - 1e-7, 1 - 1e-12])
    x = np_(d.quantile(levels[:, None]))
    rows = np.arange(0, 3000, 150)
    expected = np.array(
        [[reference_quantile(logits[i], loc[i], scale[i], q) for i in rows] for q in levels]
    )
    np.testing.assert_allclose(x[:, rows], expected, rtol=1e-6)
    # Monotone in q, row by row.
    assert np.all(np.diff(x, axis=0) > 0)


def test_quantiles_are_within_a_few_float32_steps_of_the_exact_ones():
    # F (below the median) or the survival function S (above it), in float64
    # with SciPy, brackets q (or 1 - q) between x moved four float32 steps down
    # and up: about the float32 resolution of (x - loc) / scale for x ~ 25.
    logits, loc, scale = random_mixtures(10, 3, seed=3)
    d = MixtureNormal(logits, loc, scale)
    w = special.softmax(logits, axis=-1)
    for q in TAILS:
        x = np_(d.quantile(q)).astype("float32")
        down, up = x, x
        for _ in range(4):
            down, up = np.nextafter(down, -np.inf), np.nextafter(up, np.inf)
        if q < 0.5:
            cdf = lambda y: np.sum(w * stats.norm.cdf(y[:, None], loc, scale), -1)  # noqa: E731
            assert np.all((cdf(down) <= q) & (q <= cdf(up))), q
        else:
            sf = lambda y: np.sum(w * stats.norm.sf(y[:, None], loc, scale), -1)  # noqa: E731
            assert np.all((sf(up) <= 1 - q) & (1 - q <= sf(down))), q


def test_extreme_lower_tail_stays_finite():
    # float32 erfinv(2q - 1) is -inf below q ~ 3e-8; the log-space search goes much further.
    d = MixtureNormal(np.zeros((1, 2)), [[0.0, 3.0]], [[1.0, 0.5]])
    for q in (1e-20, 1e-30):
        x = np_(d.quantile(q))
        expected = reference_quantile(np.zeros(2), np.array([0.0, 3.0]), np.array([1.0, 0.5]), q)
        np.testing.assert_allclose(x, expected, rtol=1e-6)


def test_limits_and_invalid_probabilities():
    d = MixtureNormal(np.zeros((2, 2)), [[0.0, 1.0], [2.0, 3.0]], np.ones((2, 2)))
    x = np_(d.quantile(np.array([[0.0], [1.0], [np.nan]])))
    assert np.isneginf(x[0]).all() and np.isposinf(x[1]).all() and np.isnan(x[2]).all()


def test_tail_quantiles_inside_compiled_functions():
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        compile_ = jax.jit
    elif backend == "tensorflow":
        import tensorflow as tf

        compile_ = tf.function
    else:
        pytest.skip("the torch backend runs eagerly")
    logits, loc, scale = (a.astype("float32") for a in random_mixtures(8, 3, seed=11))
    levels = np.array([[1e-12], [1e-5], [0.5]], "float32")  # float32 cannot hold 1 - 1e-12

    @compile_
    def quantiles(logits, loc, scale):
        return MixtureNormal(logits, loc, scale, validate_args=False).quantile(levels)

    x = np_(quantiles(logits, loc, scale))
    expected = np_(MixtureNormal(logits, loc, scale).quantile(levels.astype(float)))
    np.testing.assert_allclose(x, expected, rtol=1e-6)
