import numpy as np
import pytest
from backend_helpers import check_scalar_family_against_scipy, head_nll_and_gradient, to_numpy
from scipy import stats

import likely
from likely.distributions import LogNormal

pytestmark = pytest.mark.backends

LOC = np.array([0.0, 1.2, -2.0])
SCALE = np.array([0.25, 1.0, 0.05])


def test_matches_scipy():
    check_scalar_family_against_scipy(
        LogNormal(LOC, SCALE),
        stats.lognorm(s=SCALE, scale=np.exp(LOC)),
        values=np.array([1.1, 0.2, 0.14]),
        quantile_rtol=1e-5,
        moments_rtol=2e-5,
    )


def test_no_mass_at_or_below_zero():
    d = LogNormal(LOC, SCALE)
    x = np.array([0.0, -1.0, -1e-30])
    assert np.all(to_numpy(d.cdf(x)) == 0.0)
    assert np.all(np.isneginf(to_numpy(d.log_prob(x))))
    assert to_numpy(d.sample(5000, seed=0)).min() > 0.0
    np.testing.assert_array_equal(to_numpy(d.quantile(np.zeros((1, 3)))), np.zeros((1, 3)))


def test_mode_and_median():
    d = LogNormal(LOC, SCALE)
    np.testing.assert_allclose(to_numpy(d.mode), np.exp(LOC - SCALE**2), rtol=1e-6)
    np.testing.assert_allclose(to_numpy(d.quantile(0.5)), np.exp(LOC), rtol=1e-6)


def test_head_nll_gradients_are_finite_at_extremes():
    head = likely.layers.IndependentLogNormal(1)
    params = np.array([[0.0, -40.0], [5.0, 3.0], [-3.0, 0.0]], "float32")  # scale at the floor
    y = np.array([1e-30, 1e6, 1e-3], "float32")
    loss, grad = head_nll_and_gradient(head, y, params)
    assert np.all(np.isfinite(loss)) and np.all(np.isfinite(grad))
    scale = np.log1p(np.exp(params[:, 1].astype(float))) + likely.distributions.DEFAULT_MIN_SCALE
    expected = -stats.lognorm.logpdf(y.astype(float), s=scale, scale=np.exp(params[:, 0]))
    np.testing.assert_allclose(loss, expected, rtol=2e-5)
