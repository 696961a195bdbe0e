"""GriddedPredictive: closed forms, a known mixture on a fine grid, qp's interp, likely.metrics."""

import numpy as np
import pytest
import scoringrules
from scipy import stats

import likely
from likely.io import GriddedPredictive

# A triangle on [0, 2] peaking at 1: CDF x^2 / 2 on [0, 1], mean 1, variance 1/6.
TRIANGLE = (np.linspace(0.0, 2.0, 3), [[0.0, 1.0, 0.0]])


def test_triangle_matches_its_closed_form():
    p = GriddedPredictive(*TRIANGLE)
    x = np.array([-1.0, 0.5, 1.0, 1.5, 3.0])
    np.testing.assert_allclose(p.cdf_at(x[:, None])[:, 0], [0.0, 0.125, 0.5, 0.875, 1.0])
    np.testing.assert_allclose(p.pdf_grid(x)[0], [0.0, 0.5, 1.0, 0.5, 0.0])
    np.testing.assert_allclose(
        p.quantile(np.array([0.125, 0.5, 0.875])[:, None])[:, 0], [0.5, 1.0, 1.5]
    )
    np.testing.assert_allclose([p.mean[0], p.variance[0], p.mode[0]], [1.0, 1 / 6, 1.0])


@pytest.fixture(scope="module")
def known_mixture():
    """Random 3-component mixtures well inside [0, 3], and their density on a fine grid."""
    rng = np.random.default_rng(0)
    n = 400
    weights = rng.dirichlet([2.0, 2.0, 2.0], size=n)
    loc = rng.uniform(0.8, 2.2, (n, 3))
    scale = rng.uniform(0.05, 0.15, (n, 3))
    mixture = likely.Predictive(likely.distributions.MixtureNormal(np.log(weights), loc, scale))
    grid = np.linspace(0.0, 3.0, 1501)
    gridded = GriddedPredictive(grid, mixture.pdf_grid(grid))
    z = mixture.sample(1, seed=1)[0].astype(np.float64)
    return weights, loc, scale, mixture, gridded, z


def mixture_cdf(weights, loc, scale, x):
    return np.sum(weights * stats.norm.cdf(x[..., None], loc, scale), axis=-1)


def test_densities_and_moments_match_the_mixture(known_mixture):
    weights, loc, scale, mixture, gridded, z = known_mixture
    # CDF against SciPy: linear interpolation of the density errs by O(h^2 f''); with
    # h = 0.002 and scales >= 0.05 that is 2e-5 at most (5e-4 on a 301-point grid).
    np.testing.assert_allclose(gridded.cdf(z), mixture_cdf(weights, loc, scale, z), atol=5e-5)
    mean = np.sum(weights * loc, axis=1)
    variance = np.sum(weights * (scale**2 + loc**2), axis=1) - mean**2
    np.testing.assert_allclose(gridded.mean, mean, atol=1e-6)
    np.testing.assert_allclose(gridded.variance, variance, atol=1e-5)
    levels = np.array([0.05, 0.5, 0.95])
    np.testing.assert_allclose(gridded.quantiles(levels), mixture.quantiles(levels), atol=1e-4)


def test_quantile_inverts_the_cdf_exactly(known_mixture):
    *_, gridded, _ = known_mixture
    q = np.random.default_rng(2).uniform(size=(5, len(gridded)))
    np.testing.assert_allclose(gridded.cdf_at(gridded.quantile(q)), q, atol=1e-12)
    samples = gridded.sample(4000, seed=3)
    assert np.abs(samples.mean(axis=0) - gridded.mean).max() < 5 * gridded.stddev.max() / 60


def test_agrees_with_qp_interp(known_mixture):
    qp = pytest.importorskip("qp")
    *_, gridded, z = known_mixture
    ensemble = qp.Ensemble(qp.interp, data=dict(xvals=gridded.grid, yvals=gridded.pdfs))
    np.testing.assert_allclose(ensemble.pdf(z[:, None])[:, 0], gridded.pdf(z), rtol=1e-12)
    # At the nodes (except the first, where qp starts its sum at y0 h / 2) the CDFs agree;
    # between nodes qp interpolates the CDF linearly: within h^2 max|f'| / 8.
    nodes = gridded.grid[1::50]
    np.testing.assert_allclose(ensemble.cdf(nodes), gridded.cdf_grid(nodes), atol=1e-12)
    h = gridded.grid[1] - gridded.grid[0]
    slope = np.abs(np.diff(gridded.pdfs, axis=1)).max() / h
    assert np.abs(ensemble.cdf(z[:, None])[:, 0] - gridded.cdf(z)).max() <= h * h * slope / 8


def test_metrics_score_it_like_the_mixture(known_mixture):
    weights, loc, scale, mixture, gridded, z = known_mixture
    crps = scoringrules.crps_mixnorm(z, loc, scale, weights, backend="numpy").mean()
    assert likely.metrics.crps(z, gridded) == pytest.approx(crps, abs=1e-5)
    assert likely.metrics.nll(z, gridded) == pytest.approx(likely.metrics.nll(z, mixture), abs=1e-4)
    pit = likely.metrics.pit(z, gridded)
    np.testing.assert_allclose(pit, mixture_cdf(weights, loc, scale, z), atol=5e-5)
    report = likely.metrics.report(z, gridded, kind="photoz")
    assert report["cde_loss"] == pytest.approx(likely.metrics.cde_loss(z, mixture), abs=1e-4)
    assert report["pit_ks"] == pytest.approx(likely.metrics.pit_ks(z, mixture), abs=1e-5)


@pytest.mark.parametrize(
    ("grid", "pdfs", "fragment"),
    [
        ([0.0, 0.0, 1.0], [[1.0, 1.0, 1.0]], "strictly increasing"),
        ([0.0, 1.0], [[1.0, 1.0, 1.0]], "shape (n, 2)"),
        ([0.0, 1.0, 2.0], [[1.0, -1.0, 1.0]], ">= 0"),
        ([0.0, 1.0, 2.0], [[0.0, 0.0, 0.0]], "positive integral"),
        ([0.0, 1.0, 2.0], [[0.0, np.nan, 0.0]], "finite"),
    ],
)
def test_bad_tables_are_refused(grid, pdfs, fragment):
    with pytest.raises(ValueError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        GriddedPredictive(grid, pdfs)


def test_has_no_aleatoric_epistemic_split():
    with pytest.raises(AttributeError, match="no aleatoric/epistemic split"):
        GriddedPredictive(*TRIANGLE).aleatoric_variance  # noqa: B018
