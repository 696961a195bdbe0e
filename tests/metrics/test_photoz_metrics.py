"""Photo-z metrics on synthetic redshifts whose answers are known by construction."""

import numpy as np
import pytest
from scipy import optimize, special, stats

import likely
from likely.distributions import MixtureNormal, Normal
from likely.metrics import (
    bias,
    cde_loss,
    ez,
    outlier_rate,
    outlier_threshold,
    point_estimate,
    sigma_iqr,
    sigma_mad,
)


def redshifts_with_errors(e, seed=0):
    """z_true spread over 0..3 and z_pred such that (z_pred - z_true)/(1 + z_true) == e."""
    rng = np.random.default_rng(seed)
    e = rng.permutation(e)
    z = rng.uniform(0.02, 3.0, e.size)
    return z, z + (1 + z) * e


def test_ez_bias_and_robust_scatter_of_a_gaussian_core():
    n, b, s = 20_001, 0.004, 0.03
    e = b + s * stats.norm.ppf((np.arange(1, n + 1) - 0.5) / n)  # exact normal quantiles
    z, zp = redshifts_with_errors(e)
    np.testing.assert_allclose(np.sort(ez(z, zp)), np.sort(e), atol=1e-12)
    assert bias(z, zp) == pytest.approx(b, abs=1e-12)  # median of a symmetric sample
    assert sigma_iqr(z, zp) == pytest.approx(s, rel=1e-3)
    assert sigma_mad(z, zp) == pytest.approx(s, rel=1e-3)


def test_injected_outliers_are_counted_exactly_narrow_core():
    """Narrow core: 3 sigma_IQR < 0.06, so the RAIL cut is the 0.06 floor."""
    core = np.linspace(-0.02, 0.02, 9_200)
    moderate = np.array([0.1, -0.1] * 150)  # 0.06 < |ez| < 0.15
    extreme = np.array([0.5, -0.4] * 250)  # |ez| > 0.15
    z, zp = redshifts_with_errors(np.concatenate([core, moderate, extreme]))
    assert outlier_threshold(z, zp) == 0.06
    assert outlier_rate(z, zp) == pytest.approx(800 / 10_000, abs=1e-12)
    assert outlier_rate(z, zp, 0.15) == pytest.approx(500 / 10_000, abs=1e-12)


def test_injected_outliers_are_counted_exactly_wide_core():
    """Wide core: the RAIL cut is 3 sigma_IQR (> 0.06) and spares the moderate points."""
    core = np.linspace(-0.06, 0.06, 9_200)
    moderate = np.array([0.1, -0.1] * 150)
    extreme = np.array([0.5, -0.4] * 250)
    e = np.concatenate([core, moderate, extreme])
    z, zp = redshifts_with_errors(e)
    q75, q25 = np.percentile(e, [75, 25])
    cut = 3 * (q75 - q25) / 1.349
    assert 0.1 < cut < 0.15
    assert outlier_threshold(z, zp) == pytest.approx(cut, rel=1e-9)
    assert outlier_rate(z, zp) == pytest.approx(500 / 10_000, abs=1e-12)
    assert outlier_rate(z, zp, 0.08) == pytest.approx(800 / 10_000, abs=1e-12)


def test_point_estimates_of_a_bimodal_mixture():
    rng = np.random.default_rng(1)
    n = 20
    logits = np.log(np.stack([np.full(n, 0.7), np.full(n, 0.3)], 1)).astype(np.float32)
    loc = np.stack([rng.uniform(0.2, 1.0, n), rng.uniform(1.5, 2.5, n)], 1).astype(np.float32)
    scale = np.full((n, 2), 0.1, np.float32)
    d = MixtureNormal(logits, loc, scale)
    w = special.softmax(logits.astype(float), 1)
    grid = np.linspace(0, 3, 300_001)
    mode, median = point_estimate(d, "mode"), point_estimate(d, "median")
    for i in range(0, n, 5):
        dens = np.sum(w[i] * stats.norm.pdf(grid[:, None], loc[i], scale[i]), 1)
        assert mode[i] == pytest.approx(grid[np.argmax(dens)], abs=2e-5)
        cdf = lambda x, i=i: np.sum(w[i] * stats.norm.cdf(x, loc[i], scale[i])) - 0.5  # noqa: E731
        assert median[i] == pytest.approx(optimize.brentq(cdf, 0, 3), abs=1e-4)
    np.testing.assert_allclose(point_estimate(d, "mean"), np.sum(w * loc, 1), rtol=1e-6)
    # A predictive as z_pred means its mode.
    z = loc[:, 0].astype(float)
    np.testing.assert_allclose(ez(z, d), (point_estimate(d) - z) / (1 + z))


def test_cde_loss_matches_brute_force_on_the_grid():
    rng = np.random.default_rng(2)
    n, k = 60, 3
    logits = rng.normal(size=(n, k)).astype(np.float32)
    loc = rng.uniform(0.1, 2.5, (n, k)).astype(np.float32)
    scale = rng.uniform(0.03, 0.3, (n, k)).astype(np.float32)
    z = rng.uniform(0.05, 2.8, n)
    w = special.softmax(logits.astype(float), 1)
    grid = np.linspace(0.0, 3.0, 301)
    term1 = term2 = 0.0
    for i in range(n):

        def pdf(x, i=i):
            return np.sum(w[i] * stats.norm.pdf(np.asarray(x)[..., None], loc[i], scale[i]), -1)

        term1 += np.trapezoid(pdf(grid) ** 2, grid) / n
        term2 += pdf(z[i]) / n
    assert cde_loss(z, MixtureNormal(logits, loc, scale)) == pytest.approx(
        term1 - 2 * term2, rel=1e-10
    )


def test_cde_loss_of_normals_has_the_closed_form():
    sigma = np.array([0.05, 0.1, 0.2])
    p = likely.Predictive(Normal(np.full(3, 1.5), sigma))
    z = np.array([1.5, 1.6, 1.1])
    grid = np.linspace(-1.0, 4.0, 5001)
    expected = np.mean(1 / (2 * sigma * np.sqrt(np.pi))) - 2 * np.mean(
        stats.norm.pdf(z, 1.5, sigma)
    )
    assert cde_loss(z, p, grid) == pytest.approx(expected, rel=1e-6)


def test_photoz_argument_errors():
    with pytest.raises(ValueError, match="z_true"):
        ez(np.array([-1.5]), np.array([0.1]))
    with pytest.raises(ValueError, match="z_pred"):
        ez(np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match="threshold"):
        outlier_rate(np.zeros(2), np.zeros(2), "lsst")
    with pytest.raises(ValueError, match="method"):
        point_estimate(Normal(np.zeros(2), np.ones(2)), "peak")
    with pytest.raises(ValueError, match="grid"):
        cde_loss(np.zeros(2), Normal(np.zeros(2), np.ones(2)), grid=[1.0, 0.0])
