import keras
import numpy as np
import pytest
from scipy import stats

from likely.distributions import Normal

pytestmark = pytest.mark.backends


def np_(x):
    return np.asarray(keras.ops.convert_to_numpy(x), dtype=float)


@pytest.fixture
def params():
    rng = np.random.default_rng(0)
    return rng.normal(size=50), rng.uniform(0.1, 3.0, size=50), rng.normal(size=50) * 3


def test_matches_scipy(params):
    loc, scale, y = params
    d = Normal(loc, scale)
    ref = stats.norm(loc, scale)
    np.testing.assert_allclose(np_(d.log_prob(y)), ref.logpdf(y), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np_(d.cdf(y)), ref.cdf(y), atol=1e-6)
    np.testing.assert_allclose(np_(d.mean), ref.mean(), rtol=1e-6)
    np.testing.assert_allclose(np_(d.variance), ref.var(), rtol=1e-5)
    np.testing.assert_allclose(np_(d.stddev), ref.std(), rtol=1e-6)
    q = np.linspace(0.01, 0.99, 50)
    np.testing.assert_allclose(np_(d.quantile(q)), ref.ppf(q), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np_(d.cdf(d.quantile(q))), q, atol=1e-6)


def test_shapes_and_sampling():
    d = Normal(np.zeros((4, 1)), np.ones(3))
    assert d.batch_shape == (4, 3) and d.event_shape == ()
    s = np_(d.sample((2000,), seed=1))
    assert s.shape == (2000, 4, 3)
    assert abs(s.mean()) < 0.05 and abs(s.std() - 1) < 0.05
    np.testing.assert_array_equal(s, np_(d.sample((2000,), seed=1)))
    assert not np.array_equal(s, np_(d.sample((2000,), seed=2)))


def test_lower_tail_cdf_is_accurate():
    d = Normal(0.0, 1.0)
    np.testing.assert_allclose(np_(d.cdf(-8.0)), stats.norm.cdf(-8.0), rtol=1e-3)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"loc": 0.0, "scale": -1.0}, "`scale` must be a finite number > 0"),
        ({"loc": 0.0, "scale": 0.0}, "`scale` must be a finite number > 0"),
        ({"loc": np.nan, "scale": 1.0}, "`loc` must be a finite real number"),
        ({"loc": 0.0, "scale": np.inf}, "`scale` must be a finite number > 0"),
        ({"loc": np.zeros(3), "scale": np.ones(4)}, "`loc` has shape \\(3,\\), `scale` has shape"),
    ],
)
def test_bad_parameters_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Normal(**kwargs)


def test_bad_seed_raises():
    with pytest.raises(TypeError, match="seed"):
        Normal(0.0, 1.0).sample(3, seed="one")
