import numpy as np
import pytest
from backend_helpers import head_nll_and_gradient, to_numpy
from scipy import stats

import likely
from likely.distributions import Bernoulli

pytestmark = pytest.mark.backends


def test_matches_scipy():
    logits = np.array([-3.0, 0.0, 0.5, 8.0])
    p = 1.0 / (1.0 + np.exp(-logits))
    d = Bernoulli(logits)
    frozen = stats.bernoulli(p)
    for y in (np.zeros(4), np.ones(4)):
        np.testing.assert_allclose(to_numpy(d.log_prob(y)), frozen.logpmf(y), rtol=1e-6)
        np.testing.assert_allclose(to_numpy(d.cdf(y)), frozen.cdf(y), atol=1e-7)
    np.testing.assert_allclose(to_numpy(d.mean), frozen.mean(), rtol=1e-6)
    np.testing.assert_allclose(to_numpy(d.variance), frozen.var(), rtol=1e-5)
    np.testing.assert_allclose(to_numpy(d.quantile(np.full(4, 0.4))), frozen.ppf(0.4))
    draws = to_numpy(d.sample(20000, seed=0))
    assert set(np.unique(draws)) <= {0.0, 1.0}
    np.testing.assert_allclose(draws.mean(axis=0), p, atol=4 * np.sqrt(0.25 / 20000))


def test_extreme_logits_have_finite_loss_and_gradient():
    head = likely.layers.IndependentBernoulli(1)
    params = np.array([[80.0], [-80.0], [0.0]], "float32")
    loss, grad = head_nll_and_gradient(head, np.array([0.0, 1.0, 1.0]), params)
    np.testing.assert_allclose(loss, [80.0, 80.0, np.log(2.0)], rtol=1e-6)
    assert np.all(np.isfinite(grad))


def test_vector_head_is_independent():
    head = likely.layers.IndependentBernoulli(3)
    d = head.distribution(np.zeros((2, 3), "float32"))
    assert d.batch_shape == (2,) and d.event_shape == (3,)
    np.testing.assert_allclose(to_numpy(d.log_prob(np.ones((2, 3)))), 3 * np.log(0.5), rtol=1e-6)
