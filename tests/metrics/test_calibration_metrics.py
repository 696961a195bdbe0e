"""PIT, uniformity tests, coverage and calibration curves against SciPy and brute force."""

import numpy as np
import pytest
from scipy import special, stats

import likely
from likely.distributions import MixtureNormal, Normal
from likely.metrics import (
    calibration_curve,
    calibration_error,
    coverage,
    pit,
    pit_ad,
    pit_cvm,
    pit_ks,
    pit_outlier_rate,
    uniformity_tests,
)


def f32(*arrays):
    """Parameters exactly representable in float32 (Keras' floatx)."""
    return tuple(np.asarray(a, dtype=np.float32).astype(float) for a in arrays)


def sample_mixture(rng, w, loc, scale):
    k = (rng.uniform(size=(len(w), 1)) > np.cumsum(w, axis=1)).sum(axis=1)
    rows = np.arange(len(w))
    return loc[rows, k] + scale[rows, k] * rng.normal(size=len(w))


@pytest.fixture(scope="module")
def heteroscedastic_mixture():
    """20,000 objects whose true predictive is a 2-component mixture varying with x."""
    rng = np.random.default_rng(42)
    n = 20_000
    x = rng.uniform(-1, 1, n)
    logits = np.stack([2 * x, -2 * x], axis=1)
    loc = np.stack([np.sin(3 * x), 1.5 + x], axis=1)
    scale = np.stack([0.1 + 0.3 * np.abs(x), np.full(n, 0.4)], axis=1)
    logits, loc, scale = f32(logits, loc, scale)
    w = special.softmax(logits, axis=1)
    y = sample_mixture(rng, w, loc, scale)
    return logits, loc, scale, w, y


def test_pit_matches_scipy():
    rng = np.random.default_rng(0)
    logits, loc, scale = f32(
        rng.normal(size=(30, 3)), rng.normal(size=(30, 3)), rng.uniform(0.2, 2, (30, 3))
    )
    y = rng.normal(size=30)
    w = special.softmax(logits, axis=1)
    expected = np.sum(w * stats.norm.cdf(y[:, None], loc, scale), axis=1)
    np.testing.assert_allclose(pit(y, MixtureNormal(logits, loc, scale)), expected, rtol=1e-10)
    normal = pit(y, Normal(loc[:, 0], scale[:, 0]))
    np.testing.assert_allclose(normal, stats.norm.cdf(y, loc[:, 0], scale[:, 0]), rtol=1e-10)


def test_uniformity_statistics_match_brute_force_and_scipy():
    rng = np.random.default_rng(1)
    u = rng.beta(1.3, 1.0, size=300)
    got = uniformity_tests(u)
    s = np.sort(u)
    n = s.size
    i = np.arange(1, n + 1)
    ks = max(np.max(i / n - s), np.max(s - (i - 1) / n))
    cvm = 1 / (12 * n) + np.sum((s - (2 * i - 1) / (2 * n)) ** 2)
    assert got["ks"] == pytest.approx(ks, rel=1e-12)
    assert got["cvm"] == pytest.approx(cvm, rel=1e-12)
    assert got["cvm"] == pytest.approx(stats.cramervonmises(u, "uniform").statistic, rel=1e-10)
    ad_reference = stats.goodness_of_fit(
        stats.uniform, u, known_params={"loc": 0, "scale": 1}, statistic="ad", n_mc_samples=9, rng=0
    ).statistic
    assert got["ad"] == pytest.approx(ad_reference, rel=1e-9)
    assert got["ks_pvalue"] == pytest.approx(stats.kstest(u, "uniform").pvalue)


@pytest.mark.parametrize(
    ("statistic", "probability"), [(1.933, 0.90), (2.492, 0.95), (3.857, 0.99)]
)
def test_anderson_darling_pvalue_at_stephens_critical_values(statistic, probability):
    """Case 0 (fully specified null) critical values of A^2 (Stephens 1974, JASA 69, 730)."""
    from likely.metrics._calibration_metrics import _anderson_darling_cdf

    assert _anderson_darling_cdf(statistic) == pytest.approx(probability, abs=1e-3)


def test_single_pit_value_statistics():
    p = Normal(np.zeros(1), np.ones(1))
    assert pit_ks(np.zeros(1), p) == pytest.approx(0.5)
    assert pit_cvm(np.zeros(1), p) == pytest.approx(1 / 12)
    assert pit_ad(np.zeros(1), p) == pytest.approx(-1 - 2 * np.log(0.5))


def test_pit_outlier_rate_counts_exactly():
    p = Normal(np.zeros(1000), np.ones(1000))
    y = np.zeros(1000)
    y[:7] = 4.0  # PIT 0.99997 > 0.9999
    y[7:10] = -3.9  # PIT 4.8e-5 < 1e-4
    y[10:20] = 3.5  # PIT 0.99977: not an outlier
    assert pit_outlier_rate(y, p) == pytest.approx(0.010)
    assert pit_outlier_rate(y, p, threshold=1e-3) == pytest.approx(0.020)


def test_coverage_agrees_with_explicit_quantiles():
    rng = np.random.default_rng(2)
    mu, sigma = f32(rng.normal(size=500), rng.uniform(0.5, 2, 500))
    y = mu + sigma * rng.standard_t(3, size=500)
    for level in (0.5, 0.68, 0.9):
        lo = stats.norm.ppf(0.5 - level / 2, mu, sigma)
        hi = stats.norm.ppf(0.5 + level / 2, mu, sigma)
        expected = np.mean((y >= lo) & (y <= hi))
        assert coverage(y, Normal(mu, sigma), level) == pytest.approx(expected)
        assert coverage(y, (lo, hi), level) == pytest.approx(expected)


def test_calibration_curve_and_error_match_manual_computation():
    rng = np.random.default_rng(3)
    y = rng.normal(size=400) * 1.5
    p = Normal(np.zeros(400), np.ones(400))
    u = stats.norm.cdf(y)
    levels = np.array([0.1, 0.5, 0.9])
    nominal, observed = calibration_curve(y, p, levels)
    np.testing.assert_allclose(observed, [np.mean(u <= q) for q in levels])
    _, central = calibration_curve(y, p, levels, kind="interval")
    np.testing.assert_allclose(central, [np.mean(np.abs(u - 0.5) <= q / 2) for q in levels])
    default = np.linspace(0.01, 0.99, 99)
    expected = np.mean(np.abs([np.mean(u <= q) - q for q in default]))
    assert calibration_error(y, p) == pytest.approx(expected)


def test_true_predictive_is_calibrated_and_doubled_sigma_is_flagged(heteroscedastic_mixture):
    logits, loc, scale, _, y = heteroscedastic_mixture
    true = likely.Predictive(MixtureNormal(logits, loc, scale))
    assert pit_ks(y, true) < 0.02
    assert abs(coverage(y, true, 0.68) - 0.68) < 0.01
    assert abs(coverage(y, true, 0.95) - 0.95) < 0.01
    assert calibration_error(y, true) < 0.01
    assert uniformity_tests(pit(y, true))["ks_pvalue"] > 0.01

    wide = likely.Predictive(MixtureNormal(logits, loc, 2 * scale))
    assert pit_ks(y, wide) > 0.1
    assert coverage(y, wide, 0.68) > 0.85
    assert coverage(y, wide, 0.95) > 0.99
    assert calibration_error(y, wide) > 0.05
    assert uniformity_tests(pit(y, wide))["ad_pvalue"] < 1e-6


def test_bad_arguments_raise():
    p = Normal(np.zeros(2), np.ones(2))
    with pytest.raises(ValueError, match="kind"):
        calibration_curve(np.zeros(2), p, kind="central")
    with pytest.raises(ValueError, match="levels"):
        calibration_curve(np.zeros(2), p, levels=[0.0, 0.5])
    with pytest.raises(ValueError, match="level"):
        coverage(np.zeros(2), p, level=1.5)
    with pytest.raises(ValueError, match="pit_values"):
        uniformity_tests(np.array([0.2, 1.2]))
