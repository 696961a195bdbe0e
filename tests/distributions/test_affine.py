import numpy as np
import pytest
from backend_helpers import to_numpy
from scipy import stats

import likely
from likely.distributions import AffineTransformed, LogNormal, Normal, SplineFlow, affine

pytestmark = pytest.mark.backends


def test_location_scale_families_stay_in_their_family():
    d = affine(Normal(np.zeros(2), np.ones(2)), shift=5.0, scale=10.0)
    assert isinstance(d, Normal)
    np.testing.assert_allclose(to_numpy(d.log_prob(np.array([5.0, 15.0]))),
                               stats.norm(5.0, 10.0).logpdf([5.0, 15.0]), rtol=1e-6)  # fmt: skip
    m = affine(likely.distributions.MixtureNormal(np.zeros((1, 2)), [[0.0, 1.0]], [[1.0, 1.0]]),
               2.0, 3.0)  # fmt: skip
    np.testing.assert_allclose(to_numpy(m.mean), [2.0 + 3.0 * 0.5], rtol=1e-6)


def test_wrapped_family_matches_scipy_and_moves_its_support():
    base = LogNormal(np.array([0.0, 0.5]), np.array([0.5, 1.0]))
    d = affine(base, shift=-1.0, scale=2.0)
    assert isinstance(d, AffineTransformed)
    frozen = stats.lognorm(s=[0.5, 1.0], scale=np.exp([0.0, 0.5]), loc=-1.0 * 1.0)
    frozen = stats.lognorm(s=[0.5, 1.0], loc=-1.0, scale=2.0 * np.exp([0.0, 0.5]))
    y = np.array([0.5, 3.0])
    np.testing.assert_allclose(to_numpy(d.log_prob(y)), frozen.logpdf(y), rtol=1e-5)
    np.testing.assert_allclose(to_numpy(d.cdf(y)), frozen.cdf(y), atol=1e-6)
    np.testing.assert_allclose(to_numpy(d.mean), frozen.mean(), rtol=1e-5)
    np.testing.assert_allclose(to_numpy(d.variance), frozen.var(), rtol=1e-4)
    np.testing.assert_allclose(to_numpy(d.quantile(0.7)), frozen.ppf(0.7), rtol=1e-5)
    assert d.support.lower == -1.0
    bounded = affine(
        SplineFlow.from_unconstrained(np.zeros((1, 13)), 4, low=0.0, high=1.0), 3.0, 2.0
    )
    assert (bounded.support.lower, bounded.support.upper) == (3.0, 5.0)


def test_discrete_families_refuse():
    with pytest.raises(TypeError, match="discrete"):
        affine(likely.distributions.Bernoulli(np.zeros(2)), 1.0, 2.0)
    with pytest.raises(ValueError, match="`scale` must be finite and > 0"):
        affine(Normal(0.0, 1.0), 0.0, -1.0)
