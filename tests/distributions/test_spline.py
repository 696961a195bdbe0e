import numpy as np
import pytest
from backend_helpers import head_nll_and_gradient, to_numpy
from scipy import stats

import likely
from likely.distributions import SplineFlow

pytestmark = pytest.mark.backends

RAW = np.random.default_rng(0).normal(scale=1.5, size=(3, 25)).astype("float32")  # K = 8


def spline():
    return SplineFlow.from_unconstrained(RAW, num_bins=8, low=-1.0, high=3.0)


def test_zero_parameters_give_the_uniform_distribution():
    d = SplineFlow.from_unconstrained(np.zeros((2, 25)), num_bins=8, low=-1.0, high=3.0)
    slope_one = np.log(np.expm1(1.0 - 1e-3))  # softplus(x) + 1e-3 = 1 at every knot
    d = SplineFlow.from_unconstrained(
        np.concatenate([np.zeros((2, 16)), np.full((2, 9), slope_one)], axis=1),
        num_bins=8, low=-1.0, high=3.0,
    )  # fmt: skip
    uniform = stats.uniform(-1.0, 4.0)
    x = np.array([-0.5, 2.9])
    np.testing.assert_allclose(to_numpy(d.cdf(x)), uniform.cdf(x), atol=1e-6)
    np.testing.assert_allclose(to_numpy(d.log_prob(x)), uniform.logpdf(x), atol=1e-5)
    np.testing.assert_allclose(to_numpy(d.mean), uniform.mean(), atol=1e-5)
    np.testing.assert_allclose(to_numpy(d.variance), uniform.var(), rtol=1e-4)
    np.testing.assert_allclose(to_numpy(d.quantile(0.3)), uniform.ppf(0.3), atol=1e-5)


def _integral(f, low, high, pieces=2000):
    """Composite 8-point Gauss-Legendre rule of the vectorized `f`, columns summed separately."""
    nodes, weights = np.polynomial.legendre.leggauss(8)
    edges = np.linspace(low, high, pieces + 1)
    half = np.diff(edges)[:, None] / 2
    x = (edges[:-1, None] + half * (nodes + 1)).reshape(-1, 1)
    return np.sum(f(x) * (half * weights).reshape(-1, 1), axis=0)


def test_density_integrates_to_the_cdf_and_quantile_inverts_it():
    d = spline()

    def pdf(x):  # (N, 1) points against the 3 rows: (N, 3)
        return to_numpy(d.prob(x)).astype(np.float64)

    # A kink at each knot inside one of the 2,000 pieces costs O(h^2), about 1e-6 here.
    np.testing.assert_allclose(_integral(pdf, -1.0, 3.0), 1.0, atol=2e-5)
    cdf = to_numpy(d.cdf(np.full((1, 3), 0.7)))[0]
    np.testing.assert_allclose(cdf, _integral(pdf, -1.0, 0.7), atol=2e-5)
    mean = _integral(lambda x: x * pdf(x), -1.0, 3.0)
    second = _integral(lambda x: x * x * pdf(x), -1.0, 3.0)
    np.testing.assert_allclose(to_numpy(d.mean), mean, atol=2e-5)
    np.testing.assert_allclose(to_numpy(d.variance), second - mean**2, atol=5e-5)
    q = np.linspace(0.0, 1.0, 41).reshape(-1, 1)
    x = to_numpy(d.quantile(q))
    np.testing.assert_allclose(to_numpy(d.cdf(x)), np.broadcast_to(q, x.shape), atol=2e-6)
    assert np.all(np.diff(x, axis=0) >= 0)
    np.testing.assert_allclose(x[0], -1.0, atol=1e-6)
    np.testing.assert_allclose(x[-1], 3.0, atol=1e-5)


def test_mode_is_the_highest_density_point():
    d = spline()
    grid = np.linspace(-1.0, 3.0, 400001)
    dens = to_numpy(d.log_prob(grid[:, None]))
    best = dens.max(axis=0)
    at_mode = to_numpy(d.log_prob(to_numpy(d.mode)))
    np.testing.assert_array_less(best - at_mode, 1e-5)


def test_no_mass_outside_the_bounds_and_samples_follow_the_cdf():
    d = spline()
    outside = np.array([[-1.0001, -5.0, 3.5]]).T
    assert np.all(np.isneginf(to_numpy(d.log_prob(outside))))
    np.testing.assert_array_equal(to_numpy(d.cdf(np.full(3, -2.0))), 0.0)
    np.testing.assert_array_equal(to_numpy(d.cdf(np.full(3, 4.0))), 1.0)
    draws = to_numpy(d.sample(20000, seed=0))
    assert draws.min() >= -1.0 and draws.max() <= 3.0
    u = np.sort(to_numpy(d.cdf(draws)), axis=0)
    assert np.max(np.abs(u - np.arange(1, 20001)[:, None] / 20000)) < 2.3 / np.sqrt(
        20000
    )  # KS at ~0.004% (see backend_helpers)


def test_nll_gradients_are_finite_at_the_bounds():
    head = likely.layers.SplineFlow(8, low=-1.0, high=3.0)
    params = np.concatenate([RAW, 10 * RAW[:1]], axis=0)
    y = np.array([-1.0, 3.0, 1.0, 2.999999], "float32")
    loss, grad = head_nll_and_gradient(head, y, params)
    assert np.all(np.isfinite(loss)) and np.all(np.isfinite(grad))


def test_bad_options_raise():
    with pytest.raises(ValueError, match="low < high"):
        likely.layers.SplineFlow(8, low=1.0, high=0.0)
    with pytest.raises(ValueError, match="one target dimension"):
        likely.layers.DistributionHead("spline_flow", event_size=2)
