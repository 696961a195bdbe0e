"""Split-conformal prediction intervals with a finite-sample coverage guarantee."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from likely.calibration._isotonic import NotFittedError
from likely.metrics import _numeric


def conformal_quantile(scores: Any, level: float) -> float:
    """The ceil((n + 1) level)-th smallest of n calibration scores (inf if that exceeds n).

    If calibration and test points are exchangeable, a new score falls at or
    below it with probability at least `level`, and below `level + 1/(n+1)`
    when scores have no ties (Vovk et al. 2005; Lei et al. 2018, JASA 113, 1094).

    Args:
        scores: Conformity scores of the calibration points, shape (n,).
        level: Target coverage, in (0, 1).

    Returns:
        A float (`inf` when n is too small for the level: n < 1/(1 - level) - 1).

    Example:
        >>> import numpy as np, likely
        >>> likely.calibration.conformal_quantile(np.arange(1.0, 10.0), 0.8)  # ceil(10 * 0.8) = 8th
        8.0
    """
    level = _numeric.check_level(level)
    s = np.asarray(scores, dtype=np.float64).ravel()
    if s.size == 0 or not np.isfinite(s).all():
        raise ValueError(
            f"Argument `scores` must be a non-empty array of finite values. Received {s.size} "
            "values."
        )
    k = math.ceil((s.size + 1) * level - 1e-12)
    if k > s.size:
        return math.inf
    return float(np.partition(s, k - 1)[k - 1])


class _SplitBase:
    def __init__(self, level: float = 0.9) -> None:
        self.level = level

    def _fit_scores(self, scores: np.ndarray) -> None:
        self.scores_ = scores
        self.quantile_ = conformal_quantile(scores, self.level)
        self.n_samples_ = scores.size

    def _check_fitted(self) -> None:
        if not hasattr(self, "quantile_"):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet: call fit(predictive, y) first."
            )


class SplitConformal(_SplitBase):
    """Split-conformal intervals around the predictive mean, in units of its stddev.

    Scores on held-out calibration data are the normalized residuals
    `s_i = |y_i - mu_i| / sigma_i` (Lei et al. 2018, "locally weighted"
    split conformal; Papadopoulos et al. 2008); with `q` their
    `ceil((n + 1) level)`-th smallest value, the interval is
    `[mu - q sigma, mu + q sigma]`. Whatever the model, even a badly
    mis-specified one, the coverage on new exchangeable data is at least
    `level` (and, without ties, below `level + 1/(n + 1)`) on average over
    calibration sets; the predictive only decides the interval's shape.

    Args:
        level: Target coverage, in (0, 1).

    Attributes:
        quantile_: The conformal quantile `q` of the scores.
        scores_: The calibration scores.
        n_samples_: Number of calibration points.

    Example:
        >>> import numpy as np, likely
        >>> rng = np.random.default_rng(0)
        >>> p = likely.Predictive(likely.distributions.Normal(np.zeros(999), np.ones(999)))
        >>> y = 3 * rng.normal(size=999)  # the model's scale is 3 times too small
        >>> conformal = likely.calibration.SplitConformal(level=0.9).fit(p, y)
        >>> round(conformal.quantile_ / 3, 1)  # about 1.645 sigma of the true scale
        1.6
        >>> lower, upper = conformal.interval(p)
    """

    def fit(self, predictive: Any, y: Any) -> SplitConformal:
        """Computes the calibration scores of held-out `(predictive, y)`; returns self."""
        _numeric.check_level(self.level)
        p = _numeric.as_predictive(predictive)
        y = _numeric.check_y_true(y, _numeric.check_scalar_batch(p), name="y")
        mean, scale = _mean_and_scale(p)
        self._fit_scores(np.abs(y - mean) / scale)
        return self

    def interval(self, predictive: Any) -> tuple[np.ndarray, np.ndarray]:
        """The conformal interval `(lower, upper)` of each object of `predictive`."""
        self._check_fitted()
        p = _numeric.as_predictive(predictive)
        _numeric.check_scalar_batch(p)
        mean, scale = _mean_and_scale(p)
        return mean - self.quantile_ * scale, mean + self.quantile_ * scale


class ConformalizedQuantileRegression(_SplitBase):
    """Conformalized quantile regression (CQR) around the predictive's central interval.

    Romano, Patterson & Candes (2019, NeurIPS): with `[l_i, u_i]` the central
    `level` interval of the predictive (its `(1 - level)/2` and
    `(1 + level)/2` quantiles), scores are `s_i = max(l_i - y_i, y_i - u_i)`
    (negative inside); with `q` their `ceil((n + 1) level)`-th smallest
    value, the interval is `[l - q, u + q]`. It keeps the predictive's
    asymmetry and heteroscedasticity and has the same finite-sample
    guarantee as `SplitConformal`. An interval that `q < 0` would invert
    shrinks to its midpoint.

    Args:
        level: Target coverage, in (0, 1); also the level of the predictive
            interval that is conformalized.

    Attributes:
        quantile_: The conformal correction `q` (in the units of `y`).
        scores_: The calibration scores.
        n_samples_: Number of calibration points.

    Example:
        >>> import numpy as np, likely
        >>> rng = np.random.default_rng(0)
        >>> p = likely.Predictive(likely.distributions.Normal(np.zeros(999), np.ones(999)))
        >>> cqr = likely.calibration.ConformalizedQuantileRegression(0.9)
        >>> cqr = cqr.fit(p, rng.normal(size=999))
        >>> bool(abs(cqr.quantile_) < 0.2)  # already calibrated: almost no correction
        True
    """

    def fit(self, predictive: Any, y: Any) -> ConformalizedQuantileRegression:
        """Computes the calibration scores of held-out `(predictive, y)`; returns self."""
        level = _numeric.check_level(self.level)
        p = _numeric.as_predictive(predictive)
        y = _numeric.check_y_true(y, _numeric.check_scalar_batch(p), name="y")
        lower, upper = _interval(p, level)
        self._fit_scores(np.maximum(lower - y, y - upper))
        return self

    def interval(self, predictive: Any) -> tuple[np.ndarray, np.ndarray]:
        """The conformalized interval `(lower, upper)` of each object of `predictive`."""
        self._check_fitted()
        p = _numeric.as_predictive(predictive)
        _numeric.check_scalar_batch(p)
        lower, upper = _interval(p, self.level)
        lower, upper = lower - self.quantile_, upper + self.quantile_
        middle = 0.5 * (lower + upper)
        return np.minimum(lower, middle), np.maximum(upper, middle)


def _mean_and_scale(p: Any) -> tuple[np.ndarray, np.ndarray]:
    mean = _numeric.mean_of(p)
    scale = np.sqrt(_numeric.variance_of(p))
    if not (scale > 0).all():
        raise ValueError("The predictive standard deviation must be positive for every object.")
    return mean, scale


def _interval(p: Any, level: float) -> tuple[np.ndarray, np.ndarray]:
    lower, upper = p.interval(level)
    return np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)
