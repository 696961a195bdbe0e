"""Isotonic (PIT) recalibration: calibrates held-out data, keeps CRPS, stays self-consistent."""

import numpy as np
import pytest
from scipy import integrate, special, stats

import likely
from likely.calibration import IsotonicRecalibrator, NotFittedError, RecalibratedPredictive
from likely.distributions import MixtureNormal, Normal
from likely.metrics import coverage, crps, pit, pit_ks


def f32(*arrays):
    return tuple(np.asarray(a, dtype=np.float32).astype(float) for a in arrays)


def heteroscedastic(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, n)
    mu, sigma = f32(np.sin(3 * x), 0.1 + 0.4 * np.abs(x))
    return mu, sigma, mu + sigma * rng.normal(size=n)


def test_recalibration_of_a_doubled_sigma_restores_calibration_and_crps():
    mu_cal, sigma_cal, y_cal = heteroscedastic(20_000, seed=1)
    mu, sigma, y = heteroscedastic(20_000, seed=2)
    true = likely.Predictive(Normal(mu, sigma))
    wide = likely.Predictive(Normal(mu, 2 * sigma))
    assert pit_ks(y, wide) > 0.15

    recalibrator = IsotonicRecalibrator().fit(Normal(mu_cal, 2 * sigma_cal), y_cal)
    fixed = recalibrator.transform(wide)
    assert isinstance(fixed, likely.Predictive)
    assert pit_ks(y, fixed) < 0.02
    assert abs(coverage(y, fixed, 0.68) - 0.68) < 0.01
    assert abs(coverage(y, fixed, 0.95) - 0.95) < 0.01
    crps_wide, crps_fixed, crps_true = crps(y, wide), crps(y, fixed), crps(y, true)
    assert crps_fixed <= crps_wide
    assert crps_fixed == pytest.approx(crps_true, rel=0.01)
    # The recalibrated NLL is close to the truth's, far from the wide one's.
    nll_true, nll_fixed = likely.metrics.nll(y, true), likely.metrics.nll(y, fixed)
    assert abs(nll_fixed - nll_true) < 0.02 < likely.metrics.nll(y, wide) - nll_true


def test_recalibration_of_a_misweighted_mixture():
    rng = np.random.default_rng(3)
    n = 40_000
    loc, scale = f32(np.tile([-1.0, 1.5], (n, 1)), np.tile([0.5, 0.3], (n, 1)))
    w_true = np.tile([0.3, 0.7], (n, 1))
    k = (rng.uniform(size=n) > w_true[:, 0]).astype(int)
    y = loc[np.arange(n), k] + scale[np.arange(n), k] * rng.normal(size=n)
    wrong = MixtureNormal(np.log(np.tile([0.6, 0.4], (n // 2, 1))), loc[: n // 2], scale[: n // 2])
    recal = IsotonicRecalibrator().fit(wrong, y[: n // 2])
    fixed = recal.transform(wrong)
    held_out = y[n // 2 :]
    assert pit_ks(held_out, wrong) > 0.2
    assert pit_ks(held_out, fixed) < 0.02
    assert crps(held_out, fixed) < crps(held_out, wrong)


@pytest.fixture(scope="module")
def recalibrated():
    """A deliberately bent map on a 3-component mixture base."""
    rng = np.random.default_rng(4)
    logits, loc, scale = f32(
        rng.normal(size=(6, 3)), rng.normal(size=(6, 3)), rng.uniform(0.2, 1, (6, 3))
    )
    base = likely.Predictive(MixtureNormal(logits, loc, scale))
    knots = np.array([0.0, 0.1, 0.4, 0.5, 0.9, 1.0])
    levels = np.array([0.0, 0.02, 0.3, 0.6, 0.95, 1.0])
    return base, RecalibratedPredictive(base, knots, levels), special.softmax(logits, 1), loc, scale


def test_cdf_is_the_map_of_the_base_cdf(recalibrated):
    base, p, w, loc, scale = recalibrated
    y = np.linspace(-2, 2, 6)
    base_cdf = np.sum(w * stats.norm.cdf(y[:, None], loc, scale), 1)
    # Linear in probit space between interior knots; the tails follow the least-squares
    # line through all interior knots, drawn from the outer knots.
    zk, tk = stats.norm.ppf(p.knots[1:-1]), stats.norm.ppf(p.levels[1:-1])
    slope = np.polyfit(zk, tk, 1)[0]
    z = stats.norm.ppf(base_cdf)
    t = np.interp(z, zk, tk)
    t = np.where(z < zk[0], tk[0] + slope * (z - zk[0]), t)
    t = np.where(z > zk[-1], tk[-1] + slope * (z - zk[-1]), t)
    np.testing.assert_allclose(p.cdf(y), stats.norm.cdf(t), rtol=1e-10)


def test_small_calibration_sets_correct_the_far_tails():
    """A base twice too narrow, 100 calibration points: quantiles right down to 1e-6."""
    rng = np.random.default_rng(11)
    base = likely.Predictive(Normal(np.zeros(100), np.ones(100)))
    recal = IsotonicRecalibrator().fit(base, 2.0 * rng.normal(size=100))
    p = recal.transform(likely.Predictive(Normal(np.zeros(3), np.ones(3))))
    for q in (1e-6, 1e-3, 0.999, 1 - 1e-4):  # the upper tail: see _base_quantile
        truth = 2.0 * stats.norm.ppf(q)
        np.testing.assert_allclose(p.quantile(q), truth, rtol=0.15)
    far = np.array([-9.0, 0.0, 7.0])  # base PIT 1e-19 and 1 - 1e-12 (float64 resolves it)
    np.testing.assert_allclose(p.log_prob(far), stats.norm.logpdf(far, 0, 2), atol=1.5)
    # The numeric CRPS integrates the widened tails too.
    y = np.array([-6.0, 0.5, 6.0])
    grid = np.linspace(-60, 60, 400_001)
    table = np.broadcast_to(grid[:, None], (grid.size, 3))
    brute = np.trapezoid((p.cdf_at(table) - (grid[:, None] >= y)) ** 2, grid, axis=0)
    np.testing.assert_allclose(crps(y, p, reduction="none"), brute, rtol=1e-3)


def test_quantile_inverts_cdf_and_interval_agrees(recalibrated):
    _, p, *_ = recalibrated
    for q in (0.01, 0.1, 0.3, 0.55, 0.9, 0.99):
        np.testing.assert_allclose(p.cdf(p.quantile(q)), q, atol=2e-6)
    lo, hi = p.interval(0.8)
    np.testing.assert_allclose(lo, p.quantile(0.1), rtol=1e-12)
    np.testing.assert_allclose(hi, p.quantile(0.9), rtol=1e-12)
    np.testing.assert_allclose(p.quantiles([0.1, 0.9]), np.stack([lo, hi], -1), rtol=1e-12)


def test_pdf_is_the_derivative_of_cdf_and_integrates_to_one(recalibrated):
    _, p, *_ = recalibrated
    row = np.zeros(p.batch_shape[0])
    for i in range(p.batch_shape[0]):

        def density(x, i=i):
            row[:] = x
            return p.pdf(row)[i]

        assert integrate.quad(density, -15, 15, limit=400)[0] == pytest.approx(1.0, abs=1e-6)
    y = np.linspace(-1.5, 1.5, 6) + 0.0123
    h = 1e-5
    derivative = (p.cdf(y + h) - p.cdf(y - h)) / (2 * h)
    np.testing.assert_allclose(p.pdf(y), derivative, rtol=1e-4)
    np.testing.assert_allclose(np.exp(p.log_prob(y)), p.pdf(y), rtol=1e-10)


def test_sampling_follows_the_recalibrated_cdf(recalibrated):
    _, p, *_ = recalibrated
    draws = p.sample(4000, seed=0)
    assert draws.shape == (4000, p.batch_shape[0])
    u = p.cdf_at(draws)  # uniform if the draws follow the recalibrated distribution
    assert stats.kstest(u.ravel(), "uniform").pvalue > 0.001


def test_moments_mode_and_crps_of_a_fitted_map_match_brute_force():
    """Quadrature of the recalibrated density against a 10^6-point trapezoid rule."""
    rng = np.random.default_rng(7)
    n, m = 20_000, 8
    logits, loc, scale = f32(
        rng.normal(size=(n, 3)), rng.normal(size=(n, 3)), rng.uniform(0.2, 1, (n, 3))
    )
    w = special.softmax(logits, 1)
    k = (rng.uniform(size=(n, 1)) > np.cumsum(w, 1)).sum(1)
    y = loc[np.arange(n), k] + 2.5 * scale[np.arange(n), k] * rng.normal(size=n) + 0.3
    recal = IsotonicRecalibrator().fit(MixtureNormal(logits, loc, scale), y)
    p = recal.transform(MixtureNormal(logits[:m], loc[:m], scale[:m]))
    grid = np.linspace(-20, 20, 1_000_001)
    table = np.broadcast_to(grid[:, None], (grid.size, m))
    dens, cdf = p.pdf_at(table), p.cdf_at(table)
    m1 = np.trapezoid(grid[:, None] * dens, grid, axis=0)
    var = np.trapezoid((grid[:, None] - m1) ** 2 * dens, grid, axis=0)
    np.testing.assert_allclose(p.mean, m1, atol=3e-4 * np.sqrt(var).min())
    np.testing.assert_allclose(p.variance, var, rtol=1e-3)
    # The density jumps at knots; its supremum may be a one-sided limit there.
    at_mode = np.maximum(p.pdf(p.mode - 1e-9), p.pdf(p.mode + 1e-9))
    assert (at_mode >= dens.max(axis=0) * (1 - 1e-4)).all()
    y_test = y[:m]
    brute = np.trapezoid((cdf - (grid[:, None] >= y_test)) ** 2, grid, axis=0)
    np.testing.assert_allclose(crps(y_test, p, reduction="none"), brute, rtol=1e-3)


def test_raw_fit_equals_sklearn_isotonic_regression():
    sklearn_isotonic = pytest.importorskip("sklearn.isotonic")
    rng = np.random.default_rng(5)
    n = 500
    mu, sigma = np.zeros(n), np.ones(n)
    y = 1.7 * rng.normal(size=n) + 0.3
    recal = IsotonicRecalibrator(n_knots=None).fit(Normal(mu, sigma), y)
    u = pit(y, Normal(mu, sigma))
    empirical = np.array([np.mean(u <= v) for v in u])
    reference = sklearn_isotonic.IsotonicRegression(out_of_bounds="clip").fit(u, empirical)
    # Hazen positions (i - 1/2)/n versus the step heights i/n: half a step apart.
    np.testing.assert_allclose(
        np.interp(u, recal.knots_, recal.levels_), reference.predict(u) - 0.5 / n, atol=1e-12
    )


def test_a_calibrated_predictive_is_left_almost_unchanged():
    mu, sigma, y = heteroscedastic(20_000, seed=6)
    p = likely.Predictive(Normal(mu, sigma))
    fixed = IsotonicRecalibrator().fit(p, y).transform(p)
    grid = np.linspace(-1, 1, 9)[:, None] + mu
    assert np.max(np.abs(fixed.cdf_at(grid) - p.cdf_at(grid))) < 0.015


def test_errors():
    p = Normal(np.zeros(3), np.ones(3))
    with pytest.raises(NotFittedError, match="fit"):
        IsotonicRecalibrator().transform(p)
    with pytest.raises(ValueError, match="n_knots"):
        IsotonicRecalibrator(n_knots=0).fit(p, np.zeros(3))
    with pytest.raises(ValueError, match="increase strictly"):
        RecalibratedPredictive(likely.Predictive(p), [0.0, 0.5, 0.4, 1.0], [0.0, 0.1, 0.2, 1.0])
    fixed = IsotonicRecalibrator().fit(p, np.zeros(3)).transform(p)
    with pytest.raises(AttributeError, match="aleatoric"):
        fixed.epistemic_variance  # noqa: B018
    with pytest.raises(ValueError, match=r"y.*\(3,\)"):
        IsotonicRecalibrator().fit(p, np.zeros(4))
