import numpy as np
import pytest
from backend_helpers import check_scalar_family_against_scipy, head_nll_and_gradient, to_numpy
from scipy import stats

import likely
from likely.distributions import StudentT

pytestmark = pytest.mark.backends

LOC = np.array([0.0, 1.5, -2.0, 0.3])
SCALE = np.array([1.0, 0.5, 3.0, 0.01])
DF = np.array([2.5, 5.0, 30.0, 1e4])


def test_matches_scipy():
    check_scalar_family_against_scipy(
        StudentT(LOC, SCALE, DF),
        stats.t(DF, LOC, SCALE),
        values=np.array([0.3, -4.0, 25.0, 0.31]),
        quantile_rtol=1e-5,
    )


def test_tail_quantiles_keep_relative_precision():
    d = StudentT(np.zeros(3), np.ones(3), np.array([2.0, 3.0, 50.0]))
    for q in (1e-12, 1e-9, 1 - 1e-9, 1 - 1e-12):
        expected = stats.t.ppf(q, [2.0, 3.0, 50.0])
        np.testing.assert_allclose(to_numpy(d.quantile(np.full(3, q))), expected, rtol=1e-5)


def test_heavy_tailed_moments():
    d = StudentT(np.zeros(3), np.ones(3), np.array([0.5, 1.5, 3.0]))
    mean, variance = to_numpy(d.mean), to_numpy(d.variance)
    assert np.isnan(mean[0]) and mean[1] == 0.0
    assert np.isnan(variance[0]) and np.isinf(variance[1]) and variance[2] == pytest.approx(3.0)


def test_head_maps_and_nll_gradients_are_finite_at_extremes():
    head = likely.layers.IndependentStudentT(1)
    # (loc, raw scale, raw df): scales at the floor, df at both ends, far residuals.
    params = np.array(
        [[0.0, -40.0, -40.0], [0.0, 0.0, 40.0], [1.0, 3.0, 0.0], [0.0, -40.0, 40.0]], "float32"
    )
    y = np.array([1e3, -1e4, 0.5, 0.0], "float32")
    loss, grad = head_nll_and_gradient(head, y, params)
    assert np.all(np.isfinite(loss)) and np.all(np.isfinite(grad))
    d = head.distribution(params)
    df = to_numpy(d.df)
    assert df.min() > 2.0 and df.max() < 2e5  # min_df + exp(clipped)
    np.testing.assert_allclose(
        loss, -stats.t.logpdf(y, df, [0.0, 0.0, 1.0, 0.0], to_numpy(d.scale)), rtol=1e-4
    )


def test_large_df_approaches_the_normal():
    d = StudentT(np.zeros(1), np.ones(1), np.array([1e5]))
    x = np.array([1.7])
    np.testing.assert_allclose(to_numpy(d.log_prob(x)), stats.norm.logpdf(x), atol=1e-4)
    np.testing.assert_allclose(to_numpy(d.cdf(x)), stats.norm.cdf(x), atol=1e-4)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"loc": 0.0, "scale": -1.0, "df": 3.0}, "`scale` must be a finite number > 0"),
        ({"loc": 0.0, "scale": 1.0, "df": 0.0}, "`df` must be a finite number > 0"),
        ({"loc": np.nan, "scale": 1.0, "df": 3.0}, "`loc` must be a finite real number"),
    ],
)
def test_bad_parameters_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        StudentT(**kwargs)


def test_looped_and_unrolled_cdf_agree_and_stay_differentiable():
    # Concrete values on JAX take the compiled `while_loop` form of the continued
    # fraction; traced ones (and other backends) the unrolled form, which gradients
    # go through. Both are the same function.
    import keras

    from likely.distributions import _student_t

    t = np.array([-30.0, -3.0, -1.0, -0.2, 0.0, 0.7, 4.0], "float32")
    df = np.array([2.0, 3.5, 10.0, 60.0, 5.0, 150.0, 2.5], "float32")
    looped = to_numpy(_student_t._lower_tail_cdf(t, df, loop=True))
    unrolled = to_numpy(_student_t._lower_tail_cdf(t, df))
    np.testing.assert_allclose(looped, unrolled, rtol=1e-6)
    np.testing.assert_allclose(looped, stats.t.cdf(-np.abs(t), df), rtol=3e-5, atol=3e-7)
    if keras.backend.backend() == "jax":
        import jax

        # Under grad the values are tracers: the unrolled form (not jitted here, as
        # compiling the unrolled fraction takes XLA ~20 s; eager, ~5 s).
        d_loc = jax.grad(lambda m: StudentT(m, 1.0, 4.0).cdf(0.5))(0.0)
        assert float(d_loc) == pytest.approx(-stats.t.pdf(0.5, 4.0), rel=1e-4)
