"""Scale-and-broaden recalibration: recovers known distortions, keeps the mean and members."""

import numpy as np
import pytest

import likely
from likely.calibration import IsotonicRecalibrator, NotFittedError, ScaleRecalibrator
from likely.distributions import MixtureNormal, Normal
from likely.metrics import nll


def heteroscedastic(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, n)
    mu, sigma = np.sin(3 * x), 0.1 + 0.4 * np.abs(x)
    return mu, sigma, mu + sigma * rng.normal(size=n)


def test_scale_only_matches_the_closed_form_for_normals():
    # For a normal predictive the maximum-likelihood s is sqrt(mean(z^2)).
    mu, sigma, y = heteroscedastic(5000, seed=0)
    wide = Normal(mu, 3 * sigma)
    recal = ScaleRecalibrator(broaden=False).fit(wide, y)
    assert recal.scale_ == pytest.approx(np.sqrt(np.mean(((y - mu) / (3 * sigma)) ** 2)), rel=1e-4)
    assert recal.noise_ == 0.0


def test_recovers_a_collapsed_spread_and_improves_held_out_likelihood():
    # The model is right about its mean but claims sigma / 4 everywhere, and
    # for a fifth of the objects its spread collapsed to almost nothing.
    mu_cal, sigma_cal, y_cal = heteroscedastic(20_000, seed=1)
    mu, sigma, y = heteroscedastic(20_000, seed=2)

    def overconfident(sigma, seed):
        collapsed = np.random.default_rng(seed).random(sigma.size) < 0.2
        return np.where(collapsed, 1e-4, sigma / 4)

    recal = ScaleRecalibrator().fit(Normal(mu_cal, overconfident(sigma_cal, 3)), y_cal)
    model = likely.Predictive(Normal(mu, overconfident(sigma, 4)))
    fixed = recal.transform(model)
    assert 2.0 < recal.scale_ < 5.0 and 0.05 < recal.noise_ < 0.5
    assert (
        nll(y, fixed) < nll(y, likely.Predictive(Normal(mu, sigma.mean() + 0 * mu))) < nll(y, model)
    )
    np.testing.assert_allclose(fixed.mean, model.mean, atol=1e-6)


def test_mixture_members_are_rescaled_about_the_mean():
    rng = np.random.default_rng(0)
    loc = rng.normal(size=(50, 4))
    d = MixtureNormal(rng.normal(size=(50, 4)), loc, rng.uniform(0.1, 0.5, (50, 4)))
    p = likely.Predictive(d, num_members=2)
    recal = ScaleRecalibrator(broaden=False).fit(p, rng.normal(size=50))
    out = recal.transform(p)
    s = recal.scale_
    assert out.num_members == 2
    np.testing.assert_allclose(out.mean, p.mean, atol=1e-5)
    np.testing.assert_allclose(out.epistemic_variance, s**2 * p.epistemic_variance, rtol=1e-4)
    np.testing.assert_allclose(out.aleatoric_variance, s**2 * p.aleatoric_variance, rtol=1e-4)


def test_errors():
    p = likely.Predictive(Normal(np.zeros(3), np.ones(3)))
    with pytest.raises(NotFittedError, match="not fitted"):
        ScaleRecalibrator().transform(p)
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        ScaleRecalibrator().fit(p, np.zeros(4))
    isotonic = IsotonicRecalibrator().fit(p, np.zeros(3)).transform(p)
    with pytest.raises(TypeError, match="predictive of a model"):
        ScaleRecalibrator().fit(isotonic, np.zeros(3))
    assert "broaden=True" in repr(ScaleRecalibrator())
