"""Shared normal-distribution helpers, against SciPy."""

import keras
import numpy as np
import pytest
from scipy import special

from likely.distributions import _base

pytestmark = pytest.mark.backends


def np_(x):
    return np.asarray(keras.ops.convert_to_numpy(x), dtype=float)


def test_lower_normal_quantile_is_accurate_into_the_far_tail():
    p = np.concatenate([np.geomspace(1e-37, 0.4, 2000), np.linspace(0.4, 0.5, 200)])
    z = np_(_base.normal_quantile_lower(p.astype("float32")))
    expected = special.ndtri(p.astype("float32").astype(float))
    # Relative 1e-6 in the tail; near p = 1/2, where z -> 0, absolute 1e-6.
    np.testing.assert_allclose(z, expected, rtol=1e-6, atol=1e-6)
    assert np.all(np.diff(z) >= 0)


def test_tail_and_kernel_keep_relative_accuracy():
    z = np.linspace(-12.0, 12.0, 4001).astype("float32")  # Phi(-12) = 1.8e-33: a normal float32
    tail, kernel = (np_(a) for a in _base.normal_tail_and_kernel(z))
    z = z.astype(float)
    # Relative error about 4e-7, plus the float32 rounding of the exponent z^2 / 2.
    tolerance = 4e-7 + 6e-8 * z**2
    assert np.all(np.abs(tail / special.ndtr(-np.abs(z)) - 1) <= tolerance)
    assert np.all(np.abs(kernel / np.exp(-0.5 * z**2) - 1) <= tolerance)
    log_cdf = np_(_base.normal_log_cdf_lower((-np.abs(z)).astype("float32")))
    np.testing.assert_allclose(log_cdf, special.log_ndtr(-np.abs(z)), rtol=1e-6)
