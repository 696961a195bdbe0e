import numpy as np
import pytest
from backend_helpers import head_nll_and_gradient, to_numpy
from scipy import stats

import likely
from likely.distributions import MultivariateNormalTriL

pytestmark = pytest.mark.backends

LOC = np.array([[0.0, 1.0, -1.0], [2.0, 0.0, 0.5]])
TRIL = np.array(
    [
        [[1.0, 0.0, 0.0], [0.6, 0.8, 0.0], [-0.3, 0.2, 0.5]],
        [[0.2, 0.0, 0.0], [0.0, 2.0, 0.0], [1.0, -1.0, 0.3]],
    ]
)


def test_matches_scipy():
    d = MultivariateNormalTriL(LOC, TRIL)
    cov = TRIL @ np.swapaxes(TRIL, -1, -2)
    y = np.array([[0.3, 0.4, -0.9], [1.0, 1.0, 1.0]])
    expected = [stats.multivariate_normal(LOC[i], cov[i]).logpdf(y[i]) for i in range(2)]
    np.testing.assert_allclose(to_numpy(d.log_prob(y)), expected, rtol=2e-6)
    np.testing.assert_allclose(to_numpy(d.covariance), cov, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(to_numpy(d.variance), np.diagonal(cov, axis1=1, axis2=2), rtol=1e-6)
    std = np.sqrt(np.diagonal(cov, axis1=1, axis2=2))
    np.testing.assert_allclose(to_numpy(d.cdf(y)), stats.norm.cdf(y, LOC, std), atol=1e-6)
    np.testing.assert_allclose(to_numpy(d.quantile(0.9)), stats.norm.ppf(0.9, LOC, std), rtol=1e-5)
    draws = to_numpy(d.sample(40000, seed=1)).astype(np.float64)
    assert draws.shape == (40000, 2, 3)
    for i in range(2):
        np.testing.assert_allclose(np.cov(draws[:, i].T), cov[i], atol=0.05 * cov[i].max())
        np.testing.assert_allclose(draws[:, i].mean(axis=0), LOC[i], atol=0.03)


def test_head_fills_the_cholesky_factor_row_by_row():
    head = likely.layers.MultivariateNormalTriL(2)
    raw = np.array([[1.0, -1.0, 0.5, 0.7, -0.2]], "float32")  # loc (2), L00, L10, L11
    d = head.distribution(raw)
    tril = to_numpy(d.scale_tril)[0]
    softplus = np.log1p(np.exp([0.5, -0.2])) + likely.distributions.DEFAULT_MIN_SCALE
    np.testing.assert_allclose(tril, [[softplus[0], 0.0], [0.7, softplus[1]]], rtol=1e-6)
    np.testing.assert_allclose(to_numpy(d.loc)[0], [1.0, -1.0])


def test_head_nll_gradients_are_finite_at_extremes():
    head = likely.layers.MultivariateNormalTriL(2)
    params = np.array([[0.0, 0.0, -40.0, 5.0, -40.0], [1.0, 2.0, 0.0, 0.0, 0.0]], "float32")
    y = np.array([[1e3, -1e3], [1.0, 2.0]], "float32")
    loss, grad = head_nll_and_gradient(head, y, params)
    assert np.all(np.isfinite(loss)) and np.all(np.isfinite(grad))


def test_bad_factor_raises():
    with pytest.raises(ValueError, match="`scale_tril` must be a lower-triangular"):
        MultivariateNormalTriL(np.zeros((1, 2)), [[[1.0, 0.5], [0.0, 1.0]]])
    with pytest.raises(ValueError, match="must end in"):
        MultivariateNormalTriL(np.zeros((1, 2)), np.eye(3)[None])
