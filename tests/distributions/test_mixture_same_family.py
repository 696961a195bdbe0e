import numpy as np
import pytest
from backend_helpers import head_nll_and_gradient, to_numpy
from scipy import stats

import likely
from likely.distributions import MixtureSameFamily, StudentT

pytestmark = pytest.mark.backends

W = np.array([[0.2, 0.5, 0.3], [0.6, 0.3, 0.1]])
LOC = np.array([[-3.0, 0.0, 4.0], [1.0, 1.2, -8.0]])
SCALE = np.array([[0.5, 1.0, 2.0], [0.1, 3.0, 1.0]])
DF = np.array([[3.0, 10.0, 4.0], [2.5, 5.0, 30.0]])


def mixture():
    return MixtureSameFamily(np.log(W), StudentT(LOC, SCALE, DF))


def reference_cdf(x):
    return np.sum(W * stats.t.cdf(np.asarray(x)[..., None], DF, LOC, SCALE), axis=-1)


def test_densities_and_moments_match_scipy():
    d = mixture()
    y = np.array([0.3, -7.0])
    expected = np.log(np.sum(W * stats.t.pdf(y[:, None], DF, LOC, SCALE), axis=1))
    np.testing.assert_allclose(to_numpy(d.log_prob(y)), expected, rtol=1e-5)
    np.testing.assert_allclose(to_numpy(d.cdf(y)), reference_cdf(y), atol=2e-6)
    mean = np.sum(W * LOC, axis=1)
    second = np.sum(W * (stats.t.var(DF, LOC, SCALE) + LOC**2), axis=1)
    np.testing.assert_allclose(to_numpy(d.mean), mean, rtol=1e-5)
    np.testing.assert_allclose(to_numpy(d.variance), second - mean**2, rtol=1e-5)


def test_quantiles_invert_the_cdf_in_both_tails():
    d = mixture()
    for q in (1e-9, 0.01, 0.4, 0.97, 1 - 1e-9):
        x = to_numpy(d.quantile(np.full(2, q))).astype(np.float64)
        got = reference_cdf(x)
        tail = min(q, 1 - q)
        np.testing.assert_allclose(np.minimum(got, 1 - got), tail, rtol=2e-4)


def test_mode_and_samples():
    d = mixture()
    grid = np.linspace(-12, 12, 240001)
    brute = grid[np.argmax(to_numpy(d.log_prob(grid[:, None])), axis=0)]
    np.testing.assert_allclose(to_numpy(d.mode), brute, atol=1e-3)
    draws = to_numpy(d.sample(20000, seed=0)).astype(np.float64)
    u = np.sort(reference_cdf(draws), axis=0)
    assert np.max(np.abs(u - np.arange(1, 20001)[:, None] / 20000)) < 2.3 / np.sqrt(
        20000
    )  # KS at ~0.004% (see backend_helpers)


def test_head_layout_and_finite_gradients():
    head = likely.layers.MixtureSameFamily(2, likely.layers.IndependentStudentT(1))
    assert head.num_params == likely.layers.MixtureSameFamily.params_size(2, 3) == 8
    params = np.array([[0.0, 1.0, -2.0, -40.0, 0.0, 2.0, 0.0, 40.0]], "float32")
    loss, grad = head_nll_and_gradient(head, np.array([1e3]), params)
    assert np.isfinite(loss).all() and np.isfinite(grad).all()
    d = head.distribution(params)
    assert isinstance(d.components, StudentT) and d.components.batch_shape == (1, 2)


def test_a_mixture_of_mixtures_has_quantiles_in_both_tails():
    """An ensemble of mixture heads: the members' mixtures mixed again (predict_distribution)."""
    from likely.distributions import LogNormal, affine

    inner = MixtureSameFamily(
        np.log(np.array([[[0.3, 0.7], [0.5, 0.5]]] * 2)),  # (n=2, M=2, K=2)
        LogNormal(np.array([[[0.0, 1.0], [0.5, -0.5]]] * 2), np.full((2, 2, 2), 0.4)),
    )
    outer = MixtureSameFamily(np.zeros((2, 2)), affine(inner, 0.0, 2.0))  # target scaling
    levels = np.array([[1e-9], [0.3], [1 - 1e-6]])
    q = to_numpy(outer.quantile(levels))
    assert q.shape == (3, 2) and np.all(np.isfinite(q)) and np.all(q > 0)
    np.testing.assert_allclose(to_numpy(outer.cdf(q[:2])), levels[:2, 0, None] + 0 * q[:2],
                               rtol=1e-4)  # fmt: skip
    np.testing.assert_allclose(to_numpy(outer.survival_function(q[2:])), 1e-6, rtol=1e-3)
