import numpy as np
import pytest
from scipy import stats

import likely
from likely.distributions import MultivariateNormalTriL


def test_energy_score_of_one_dimension_is_the_crps():
    loc, scale = np.array([0.0, 1.0, -2.0]), np.array([1.0, 0.5, 2.0])
    d = MultivariateNormalTriL(loc[:, None], scale[:, None, None])
    y = np.array([[0.3], [2.0], [-2.5]])
    es = likely.metrics.energy_score(y, d, n_samples=3000, reduction="none")
    z = (y[:, 0] - loc) / scale
    crps = scale * (z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / np.sqrt(np.pi))
    np.testing.assert_allclose(es, crps, rtol=0.05)


def test_mahalanobis_pit_is_uniform_for_draws_of_the_predictive_only():
    rng = np.random.default_rng(0)
    n = 4000
    tril = np.tile(np.array([[1.0, 0.0], [0.8, 0.6]]), (n, 1, 1))
    d = MultivariateNormalTriL(np.zeros((n, 2)), tril)
    y = np.asarray(d.sample(1, seed=1))[0]
    u = likely.metrics.mahalanobis_pit(y, d)
    assert stats.kstest(u, "uniform").statistic < 0.03
    # Ignoring the correlation (a diagonal covariance) is detected.
    diagonal = MultivariateNormalTriL(np.zeros((n, 2)), np.tile(np.eye(2), (n, 1, 1)))
    assert stats.kstest(likely.metrics.mahalanobis_pit(y, diagonal), "uniform").statistic > 0.05
    _ = rng


def test_shapes_are_checked():
    d = MultivariateNormalTriL(np.zeros((3, 2)), np.tile(np.eye(2), (3, 1, 1)))
    with pytest.raises(ValueError, match="shape \\(3, 2\\)"):
        likely.metrics.energy_score(np.zeros(3), d)
    with pytest.raises(ValueError, match="event shape \\(E,\\)"):
        likely.metrics.energy_score(np.zeros(3), likely.distributions.Normal(np.zeros(3), 1.0))
