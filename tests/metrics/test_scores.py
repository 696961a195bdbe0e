"""Proper scores against independent references: SciPy, scoringrules, closed forms, quadrature."""

import numpy as np
import pytest
import scoringrules as sr
from scipy import integrate, special, stats

import likely
from likely.distributions import MixtureNormal, Normal
from likely.metrics import crps, interval_score, nll, sharpness


@pytest.fixture
def mixture():
    rng = np.random.default_rng(3)
    n, k = 40, 4
    logits = rng.normal(size=(n, k))
    loc = rng.normal(size=(n, k)) * 2
    scale = rng.uniform(0.1, 1.5, size=(n, k))
    y = rng.normal(size=n) * 3
    # Parameters exactly representable in float32 (Keras' floatx), so references agree.
    logits, loc, scale = (a.astype(np.float32).astype(float) for a in (logits, loc, scale))
    w = special.softmax(logits, axis=-1)
    return logits, loc, scale, w, y


def brute_force_crps(cdf, y):
    """int (F(x) - 1{x >= y})^2 dx split at y, by adaptive quadrature."""
    left = integrate.quad(lambda x: cdf(x) ** 2, -np.inf, y, limit=200)[0]
    right = integrate.quad(lambda x: (1 - cdf(x)) ** 2, y, np.inf, limit=200)[0]
    return left + right


def test_nll_matches_scipy_for_normal_and_mixture(mixture):
    logits, loc, scale, w, y = mixture
    p = likely.Predictive(Normal(loc[:, 0], scale[:, 0]))
    expected = -stats.norm.logpdf(y, loc[:, 0], scale[:, 0])
    np.testing.assert_allclose(nll(y, p, reduction="none"), expected, rtol=1e-6)
    assert nll(y, p) == pytest.approx(expected.mean(), rel=1e-6)
    assert nll(y, p, reduction="sum") == pytest.approx(expected.sum(), rel=1e-6)

    m = MixtureNormal(logits, loc, scale)
    ref = -special.logsumexp(np.log(w) + stats.norm.logpdf(y[:, None], loc, scale), axis=1)
    np.testing.assert_allclose(nll(y, m, reduction="none"), ref, rtol=1e-5)


def test_nll_stays_finite_for_far_outliers():
    p = likely.Predictive(Normal(np.zeros(1), np.ones(1)))
    value = nll(np.array([1e3]), p)
    assert value == pytest.approx(0.5 * 1e6 + 0.5 * np.log(2 * np.pi), rel=1e-9)


def test_crps_normal_matches_closed_form_and_scoringrules():
    rng = np.random.default_rng(0)
    mu, sigma = (
        a.astype(np.float32).astype(float) for a in (rng.normal(size=50), rng.uniform(0.1, 3, 50))
    )
    y = rng.normal(size=50) * 2
    z = (y - mu) / sigma
    closed = sigma * (z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / np.sqrt(np.pi))
    got = crps(y, Normal(mu, sigma), reduction="none")
    np.testing.assert_allclose(got, closed, rtol=1e-6)
    # scoringrules uses (obs, mu, sigma); likely keeps y_true first.
    np.testing.assert_allclose(got, sr.crps_normal(y, mu, sigma), rtol=1e-6)


def test_crps_mixture_matches_quadrature_and_scoringrules(mixture):
    logits, loc, scale, w, y = mixture
    got = crps(y, MixtureNormal(logits, loc, scale), reduction="none")
    for i in range(0, len(y), 5):
        cdf = lambda x, i=i: np.sum(w[i] * stats.norm.cdf(x, loc[i], scale[i]))  # noqa: E731
        assert got[i] == pytest.approx(brute_force_crps(cdf, y[i]), rel=1e-5, abs=1e-7)
    np.testing.assert_allclose(got, sr.crps_mixnorm(y, loc, scale, w), rtol=1e-5)


def test_crps_of_a_point_like_predictive_is_the_absolute_error():
    y = np.array([0.0, 1.0, -2.0])
    p = Normal(np.array([1.0, 1.0, 1.0]), np.full(3, 1e-6))
    np.testing.assert_allclose(crps(y, p, reduction="none"), np.abs(y - 1.0), atol=1e-5)


def test_numerical_crps_path_matches_closed_form(mixture):
    """The quadrature used for predictives without closed form, checked on one that has it."""
    from likely.metrics import _numeric

    logits, loc, scale, w, y = mixture
    p = likely.Predictive(MixtureNormal(logits, loc, scale))
    np.testing.assert_allclose(
        _numeric.crps_numeric(p, y), sr.crps_mixnorm(y, loc, scale, w), rtol=1e-4
    )
    mean, variance, _ = _numeric.summaries_numeric(p, len(y))
    np.testing.assert_allclose(mean, np.sum(w * loc, 1), rtol=1e-5, atol=1e-5)
    exact_var = np.sum(w * (scale**2 + loc**2), 1) - np.sum(w * loc, 1) ** 2
    np.testing.assert_allclose(variance, exact_var, rtol=1e-4)


def test_interval_score_matches_definition_and_scoringrules():
    rng = np.random.default_rng(1)
    y = rng.normal(size=200)
    lower, upper = -np.abs(rng.normal(size=200)), np.abs(rng.normal(size=200))
    alpha = 0.2
    expected = (upper - lower) + 2 / alpha * ((lower - y) * (y < lower) + (y - upper) * (y > upper))
    got = interval_score(y, (lower, upper), level=0.8, reduction="none")
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    np.testing.assert_allclose(got, sr.interval_score(y, lower, upper, alpha), rtol=1e-12)


def test_interval_score_of_predictive_uses_its_central_interval():
    mu, sigma = np.array([0.0, 1.0]), np.array([1.0, 2.0])
    y = np.array([3.0, 1.0])
    lo, hi = stats.norm.ppf(0.05, mu, sigma), stats.norm.ppf(0.95, mu, sigma)
    expected = (hi - lo) + 2 / 0.1 * np.maximum(y - hi, 0)
    got = interval_score(y, Normal(mu, sigma), 0.9, reduction="none")
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_sharpness_is_root_mean_variance(mixture):
    logits, loc, scale, w, _ = mixture
    mean = np.sum(w * loc, 1)
    var = np.sum(w * (scale**2 + (loc - mean[:, None]) ** 2), 1)
    assert sharpness(MixtureNormal(logits, loc, scale)) == pytest.approx(np.sqrt(var.mean()))


def test_bad_arguments_raise_clear_errors():
    p = likely.Predictive(Normal(np.zeros(3), np.ones(3)))
    with pytest.raises(TypeError, match=r"\(y_true, predictive\)"):
        crps(p, np.zeros(3))
    with pytest.raises(ValueError, match=r"y_true.*\(3,\)"):
        nll(np.zeros(4), p)
    with pytest.raises(ValueError, match="finite"):
        nll(np.array([0.0, np.nan, 1.0]), p)
    with pytest.raises(ValueError, match="reduction"):
        crps(np.zeros(3), p, reduction="avg")
    with pytest.raises(ValueError, match="lower <= upper"):
        interval_score(np.zeros(2), (np.ones(2), np.zeros(2)))
    vector = MixtureNormal(np.zeros((3, 2)), np.zeros((3, 2, 2)), np.ones((3, 2, 2)))
    with pytest.raises(ValueError, match="scalar events"):
        nll(np.zeros(3), vector)


def test_y_true_of_shape_n_by_1_is_accepted():
    p = Normal(np.zeros(3), np.ones(3))
    assert nll(np.zeros((3, 1)), p) == pytest.approx(nll(np.zeros(3), p))
