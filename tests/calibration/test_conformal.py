"""Conformal intervals: exact finite-sample rank, nominal coverage for a mis-specified model."""

import math

import numpy as np
import pytest

import likely
from likely.calibration import ConformalizedQuantileRegression, SplitConformal, conformal_quantile
from likely.distributions import Normal
from likely.metrics import coverage


def test_conformal_quantile_is_the_finite_sample_order_statistic():
    rng = np.random.default_rng(0)
    scores = rng.exponential(size=137)
    for level in (0.5, 0.8, 0.9, 0.95):
        k = math.ceil((scores.size + 1) * level)
        # The k-th smallest: the smallest score whose empirical CDF reaches k / n.
        reference = np.quantile(scores, k / scores.size, method="inverted_cdf")
        assert conformal_quantile(scores, level) == reference
    assert conformal_quantile(np.arange(5.0), 0.9) == math.inf  # ceil(6 * 0.9) = 6 > 5


def test_finite_sample_coverage_is_exactly_k_over_n_plus_one():
    """With n = 18 and level 0.9, k = ceil(19 * 0.9) = 18: coverage 18/19, not 0.9 or 17/19."""
    rng = np.random.default_rng(1)
    reps, n = 20_000, 18
    scores = rng.standard_cauchy(size=(reps, n + 1))
    hits = [scores[r, -1] <= conformal_quantile(scores[r, :-1], 0.9) for r in range(reps)]
    se = math.sqrt((18 / 19) * (1 / 19) / reps)
    assert np.mean(hits) == pytest.approx(18 / 19, abs=4 * se)


def misspecified(n, seed):
    """Truth: heteroscedastic, heavy-tailed, shifted; model: a constant-width normal."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, n)
    y = np.sin(3 * x) + 0.2 + (0.1 + 0.6 * np.abs(x)) * rng.standard_t(4, size=n)
    model = Normal(np.sin(3 * x).astype(np.float32), np.full(n, 0.2, np.float32))
    return likely.Predictive(model), y


@pytest.mark.parametrize("conformal_class", [SplitConformal, ConformalizedQuantileRegression])
@pytest.mark.parametrize("level", [0.68, 0.9])
def test_conformal_intervals_reach_nominal_coverage_on_held_out_data(conformal_class, level):
    n_cal, n_test = 5_000, 20_000
    p_cal, y_cal = misspecified(n_cal, seed=2)
    p_test, y_test = misspecified(n_test, seed=3)
    assert abs(coverage(y_test, p_test, level) - level) > 0.1  # the raw model is far off

    conformal = conformal_class(level=level).fit(p_cal, y_cal)
    lower, upper = conformal.interval(p_test)
    assert lower.shape == upper.shape == (n_test,)
    assert (lower <= upper).all()
    observed = coverage(y_test, (lower, upper))
    # Binomial error of the test set plus the (Beta) spread over calibration sets.
    se = math.sqrt(level * (1 - level) * (1 / n_cal + 1 / n_test))
    assert observed == pytest.approx(level, abs=4 * se)


def test_split_conformal_interval_is_mean_plus_minus_q_stddev():
    p_cal, y_cal = misspecified(1_000, seed=4)
    conformal = SplitConformal(0.9).fit(p_cal, y_cal)
    scores = np.abs(y_cal - p_cal.mean) / p_cal.stddev
    assert conformal.quantile_ == pytest.approx(
        np.sort(scores)[math.ceil(1001 * 0.9) - 1], rel=1e-6
    )
    lower, upper = conformal.interval(p_cal)
    np.testing.assert_allclose(upper - p_cal.mean, conformal.quantile_ * p_cal.stddev, rtol=1e-5)
    np.testing.assert_allclose(p_cal.mean - lower, conformal.quantile_ * p_cal.stddev, rtol=1e-5)


def test_cqr_shifts_the_predictive_interval_by_q():
    p_cal, y_cal = misspecified(1_000, seed=5)
    cqr = ConformalizedQuantileRegression(0.8).fit(p_cal, y_cal)
    lo, hi = p_cal.interval(0.8)
    scores = np.maximum(lo - y_cal, y_cal - hi)
    assert cqr.quantile_ == pytest.approx(np.sort(scores)[math.ceil(1001 * 0.8) - 1], rel=1e-6)
    lower, upper = cqr.interval(p_cal)
    np.testing.assert_allclose(lower, lo - cqr.quantile_, atol=1e-6)
    np.testing.assert_allclose(upper, hi + cqr.quantile_, atol=1e-6)


def test_errors():
    p = Normal(np.zeros(3), np.ones(3))
    with pytest.raises(likely.calibration.NotFittedError):
        SplitConformal().interval(p)
    with pytest.raises(ValueError, match="level"):
        SplitConformal(level=1.2).fit(p, np.zeros(3))
    with pytest.raises(ValueError, match="scores"):
        conformal_quantile([], 0.9)
