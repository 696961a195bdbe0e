import keras
import numpy as np
import pytest
from scipy import stats

import likely


def test_predictive_of_normal_matches_scipy():
    loc, scale = np.array([0.0, 1.0, -2.0]), np.array([1.0, 0.5, 2.0])
    p = likely.Predictive(likely.distributions.Normal(loc, scale))
    y = np.array([0.3, 0.9, 1.0])
    np.testing.assert_allclose(p.mean, loc)
    np.testing.assert_allclose(p.stddev, scale, rtol=1e-6)
    np.testing.assert_allclose(p.cdf(y), stats.norm.cdf(y, loc, scale), atol=1e-6)
    np.testing.assert_allclose(p.pdf(y), stats.norm.pdf(y, loc, scale), rtol=1e-5)
    lo, hi = p.interval(0.95)
    np.testing.assert_allclose(hi, stats.norm.ppf(0.975, loc, scale), rtol=1e-4)
    assert p.quantiles([0.1, 0.5, 0.9]).shape == (3, 3)
    assert p.sample(10, seed=0).shape == (10, 3)
    grid = np.linspace(-3, 3, 7)
    assert p.pdf_grid(grid).shape == (3, 7)


def test_grid_evaluation_in_blocks_matches_scipy(monkeypatch):
    # pdf_grid / cdf_grid work through the grid a block of points at a time
    # (bounded memory); 5 objects x 7 points in blocks of 2 points: 4 blocks.
    from likely.models import _predictive

    monkeypatch.setattr(_predictive, "_GRID_BLOCK_PAIRS", 10)
    logits = np.log([[0.3, 0.7]] * 5)
    loc = np.array([[-1.0, 2.0], [0.0, 0.5], [1.0, 3.0], [-2.0, -1.0], [0.0, 0.0]])
    scale = np.array([[0.5, 0.5], [1.0, 0.2], [0.3, 2.0], [1.5, 0.4], [1.0, 3.0]])
    p = likely.Predictive(likely.distributions.MixtureNormal(logits, loc, scale))
    grid = np.linspace(-3.0, 4.0, 7)
    z = (grid[None, :, None] - loc[:, None, :]) / scale[:, None, :]
    w = np.array([0.3, 0.7])
    pdf = np.sum(w * stats.norm.pdf(z) / scale[:, None, :], axis=-1)
    cdf = np.sum(w * stats.norm.cdf(z), axis=-1)
    np.testing.assert_allclose(p.pdf_grid(grid), pdf, rtol=2e-5, atol=1e-7)
    np.testing.assert_allclose(p.cdf_grid(grid), cdf, atol=2e-6)
    assert p.pdf_grid(np.array([])).shape == (5, 0)


def test_mode_of_bimodal_mixture_is_the_higher_peak():
    d = likely.distributions.MixtureNormal(np.log([[0.3, 0.7]]), [[-1.0, 2.0]], [[0.5, 0.5]])
    p = likely.Predictive(d)
    grid = np.linspace(-3, 4, 70001)
    brute = grid[np.argmax(p.pdf_grid(grid)[0])]
    assert p.mode[0] == pytest.approx(brute, abs=1e-3)


def test_ensemble_output_becomes_equal_weight_mixture():
    params = np.zeros((2, 3, 2), dtype="float32")  # n=2, M=3, (loc, raw scale)
    params[..., 0] = np.array([-1.0, 0.0, 1.0])[None, :]
    params[..., 1] = np.log(np.expm1(1.0 - likely.distributions.DEFAULT_MIN_SCALE))
    head = likely.layers.IndependentNormal(1, ensemble_size=3)
    p = likely.models.predictive_from_params(head, params)
    assert p.num_members == 3
    np.testing.assert_allclose(p.mean, [0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(p.variance, [1.0 + 2.0 / 3.0] * 2, rtol=1e-5)


def test_predict_distribution_rejects_models_without_head():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    with pytest.raises(TypeError, match="likely head"):
        likely.predict_distribution(model, np.zeros((3, 2)))


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda p: p.quantile(1.5), ValueError, "`q` must hold probabilities"),
        (lambda p: p.interval(1.0), ValueError, "`level` must be in"),
        (lambda p: p.cdf(np.array(["a"])), TypeError, "`y` must be numeric"),
        (lambda p: p.sample(0), ValueError, "`n` must be a positive integer"),
    ],
)
def test_bad_inputs_raise(call, exc, match):
    p = likely.Predictive(likely.distributions.Normal(np.zeros(2), np.ones(2)))
    with pytest.raises(exc, match=match):
        call(p)


def test_predictive_requires_a_likely_distribution():
    with pytest.raises(TypeError, match="likely distribution"):
        likely.Predictive(stats.norm(0, 1))
