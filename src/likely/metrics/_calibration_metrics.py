"""Calibration: probability integral transform, uniformity tests, coverage, reliability."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from likely.metrics import _numeric
from likely.metrics._scores import interval_bounds

PIT_CLIP = 1e-12
"""PIT values are clipped to [1e-12, 1 - 1e-12] inside the Anderson-Darling statistic."""

DEFAULT_LEVELS = np.linspace(0.01, 0.99, 99)
"""Probability levels of `calibration_curve` and `calibration_error`: 0.01, 0.02, ..., 0.99."""


def pit(y_true: Any, predictive: Any) -> np.ndarray:
    """Probability integral transform `PIT_i = F_i(y_i)`, shape (n,).

    For a calibrated predictive the PIT values are uniform on [0, 1]
    (Dawid 1984; Gneiting, Balabdaoui & Raftery 2007): a U-shaped histogram
    means too narrow, a hump too wide, a slope a bias. Computed in float64.

    Args:
        y_true: True values, shape (n,) (or (n, 1)).
        predictive: A `likely.Predictive` (batch shape (n,), scalar events)
            or a likely distribution.

    Returns:
        An array of shape (n,) in [0, 1].

    Example:
        >>> import numpy as np, likely
        >>> p = likely.Predictive(likely.distributions.Normal(np.zeros(3), np.ones(3)))
        >>> likely.metrics.pit(np.array([-1.0, 0.0, 1.0]), p).round(4)
        array([0.1587, 0.5   , 0.8413])
    """
    p = _numeric.as_predictive(predictive)
    y = _numeric.check_y_true(y_true, _numeric.check_scalar_batch(p))
    return np.clip(_numeric.cdf_of(p, y), 0.0, 1.0)


def _check_unit(values: Any, name: str = "pit_values") -> np.ndarray:
    u = np.asarray(values, dtype=np.float64).ravel()
    if u.size == 0 or not np.isfinite(u).all() or (u < 0).any() or (u > 1).any():
        raise ValueError(
            f"Argument `{name}` must be a non-empty array of finite values in [0, 1]. "
            f"Received {u.size} values in [{np.nanmin(u) if u.size else None}, "
            f"{np.nanmax(u) if u.size else None}]."
        )
    return u


def _cramer_von_mises(u: np.ndarray) -> float:
    """W^2 = 1/(12n) + sum_i (u_(i) - (2i - 1)/(2n))^2 (Cramer 1928; von Mises 1928)."""
    u = np.sort(u)
    n = u.size
    return float(1.0 / (12 * n) + np.sum((u - (2 * np.arange(1, n + 1) - 1) / (2 * n)) ** 2))


def _anderson_darling(u: np.ndarray) -> float:
    """A^2 = -n - (1/n) sum_i (2i - 1) [ln u_(i) + ln(1 - u_(n+1-i))] (Anderson & Darling 1954)."""
    u = np.sort(np.clip(u, PIT_CLIP, 1.0 - PIT_CLIP))
    n = u.size
    i = np.arange(1, n + 1)
    return float(-n - np.sum((2 * i - 1) * (np.log(u) + np.log1p(-u[::-1]))) / n)


def _anderson_darling_cdf(a2: float) -> float:
    """Limiting null CDF of A^2 for a fully specified distribution.

    Marsaglia & Marsaglia (2004), "Evaluating the Anderson-Darling
    distribution", J. Stat. Softw. 9(2), function ADinf (|error| < 2e-6).
    """
    z = float(a2)
    if z <= 0.0:
        return 0.0
    if z < 2.0:
        poly = (
            2.00012
            + (0.247105 - (0.0649821 - (0.0347962 - (0.011672 - 0.00168691 * z) * z) * z) * z) * z
        )
        return math.exp(-1.2337141 / z) / math.sqrt(z) * poly
    inner = 1.0776 - (2.30695 - (0.43424 - (0.082433 - (0.008056 - 0.0003146 * z) * z) * z) * z) * z
    return math.exp(-math.exp(inner))


def uniformity_tests(pit_values: Any) -> dict[str, float]:
    """Goodness-of-fit of PIT values to the uniform distribution on [0, 1].

    - Kolmogorov-Smirnov: `D = sup_u |F_n(u) - u|` (`scipy.stats.kstest`);
    - Cramer-von Mises: `W^2 = 1/(12n) + sum_i (u_(i) - (2i - 1)/(2n))^2`
      (p-value from `scipy.stats.cramervonmises`, NaN for a single value);
    - Anderson-Darling: `A^2 = -n - (1/n) sum_i (2i - 1)[ln u_(i) + ln(1 - u_(n+1-i))]`,
      which weights the tails; p-value from its limiting distribution
      (Marsaglia & Marsaglia 2004). PIT values are clipped to [1e-12, 1 - 1e-12].

    These are the PIT metrics of LSST-DESC RAIL (Schmidt et al. 2020, MNRAS 499, 1587).
    With n objects a KS statistic of about `1.36 / sqrt(n)` is the 5% critical value.

    Args:
        pit_values: PIT values in [0, 1] (see `likely.metrics.pit`).

    Returns:
        A dict with keys `ks`, `ks_pvalue`, `cvm`, `cvm_pvalue`, `ad`, `ad_pvalue`.

    Example:
        >>> import numpy as np, likely
        >>> tests = likely.metrics.uniformity_tests(np.linspace(0.05, 0.95, 10))
        >>> round(tests["ks"], 4)
        0.05
    """
    u = _check_unit(pit_values)
    ks = stats.kstest(u, "uniform")
    cvm = _cramer_von_mises(u)
    # SciPy's p-value needs two values; its statistic is the same formula.
    cvm_pvalue = stats.cramervonmises(u, "uniform").pvalue if u.size > 1 else math.nan
    ad = _anderson_darling(u)
    return {
        "ks": float(ks.statistic),
        "ks_pvalue": float(ks.pvalue),
        "cvm": cvm,
        "cvm_pvalue": float(cvm_pvalue),
        "ad": ad,
        "ad_pvalue": float(min(1.0, max(0.0, 1.0 - _anderson_darling_cdf(ad)))),
    }


def pit_ks(y_true: Any, predictive: Any) -> float:
    """Kolmogorov-Smirnov distance of the PIT values from uniform, `sup_u |F_n(u) - u|`.

    See `uniformity_tests` for the definition and p-values.

    Example:
        >>> import numpy as np, likely
        >>> p = likely.Predictive(likely.distributions.Normal(np.zeros(2), np.ones(2)))
        >>> round(likely.metrics.pit_ks(np.array([-10.0, 10.0]), p), 3)
        0.5
    """
    u = pit(y_true, predictive)
    return float(stats.kstest(u, "uniform").statistic)


def pit_cvm(y_true: Any, predictive: Any) -> float:
    """Cramer-von Mises statistic of the PIT values against uniform (see `uniformity_tests`).

    Example:
        >>> import numpy as np, likely
        >>> p = likely.Predictive(likely.distributions.Normal(np.zeros(1), np.ones(1)))
        >>> round(likely.metrics.pit_cvm(np.zeros(1), p), 4)  # 1/12
        0.0833
    """
    return _cramer_von_mises(pit(y_true, predictive))


def pit_ad(y_true: Any, predictive: Any) -> float:
    """Anderson-Darling statistic of the PIT values against uniform (see `uniformity_tests`).

    Example:
        >>> import numpy as np, likely
        >>> p = likely.Predictive(likely.distributions.Normal(np.zeros(1), np.ones(1)))
        >>> round(likely.metrics.pit_ad(np.zeros(1), p), 4)  # -1 - 2 ln(1/2)
        0.3863
    """
    return _anderson_darling(pit(y_true, predictive))


def pit_outlier_rate(y_true: Any, predictive: Any, threshold: float = 1e-4) -> float:
    """Fraction of PIT values below `threshold` or above `1 - threshold`.

    Catastrophic misses of the whole predictive, the RAIL convention
    (Schmidt et al. 2020: PIT < 1e-4 or > 0.9999). A calibrated predictive
    gives `2 * threshold`.

    Args:
        y_true: True values, shape (n,).
        predictive: A `likely.Predictive` or a likely distribution.
        threshold: Tail probability, in (0, 0.5).

    Returns:
        A float in [0, 1].

    Example:
        >>> import numpy as np, likely
        >>> p = likely.Predictive(likely.distributions.Normal(np.zeros(4), np.ones(4)))
        >>> likely.metrics.pit_outlier_rate(np.array([0.0, 1.0, 5.0, -6.0]), p)
        0.5
    """
    threshold = _numeric.check_level(threshold, name="threshold")
    if threshold >= 0.5:
        raise ValueError(f"Argument `threshold` must be below 0.5. Received: {threshold!r}.")
    u = pit(y_true, predictive)
    return float(np.mean((u < threshold) | (u > 1.0 - threshold)))


def coverage(y_true: Any, predictive_or_bounds: Any, level: float = 0.68) -> float:
    """Observed coverage: the fraction of `y_true` inside the central `level` interval.

    For a predictive, `y` is inside `[F^-1((1 - level)/2), F^-1((1 + level)/2)]`
    exactly when `|PIT - 1/2| <= level / 2`, which is what is computed (no
    quantile search); for `(lower, upper)` bounds, `lower <= y <= upper`.
    A calibrated predictive gives `level` up to binomial noise
    `sqrt(level (1 - level) / n)`.

    Args:
        y_true: True values, shape (n,).
        predictive_or_bounds: A predictive, or a pair `(lower, upper)` of arrays.
        level: Nominal coverage, in (0, 1).

    Returns:
        A float in [0, 1].

    Example:
        >>> import numpy as np, likely
        >>> y = np.array([0.0, 0.5, 3.0])
        >>> likely.metrics.coverage(y, (np.full(3, -1.0), np.full(3, 1.0)), level=0.68)
        0.6666666666666666
    """
    level = _numeric.check_level(level)
    if isinstance(predictive_or_bounds, tuple | list):
        y = _numeric.check_y_true(y_true)
        lower, upper = interval_bounds(predictive_or_bounds, level, y.shape[0])
        return float(np.mean((y >= lower) & (y <= upper)))
    u = pit(y_true, predictive_or_bounds)
    return float(np.mean(np.abs(u - 0.5) <= level / 2.0))


def calibration_curve(
    y_true: Any, predictive: Any, levels: Any = None, *, kind: str = "quantile"
) -> tuple[np.ndarray, np.ndarray]:
    """Observed against nominal probability, at several levels (a reliability diagram).

    - `kind="quantile"`: observed(p) = fraction of objects with `PIT <= p`,
      i.e. below their own p-quantile (Kuleshov, Fenner & Ermon 2018);
    - `kind="interval"`: observed(p) = coverage of the central p interval.

    A calibrated predictive lies on the diagonal.

    Args:
        y_true: True values, shape (n,).
        predictive: A `likely.Predictive` or a likely distribution.
        levels: Nominal probabilities in (0, 1); default 0.01, 0.02, ..., 0.99.
        kind: "quantile" or "interval".

    Returns:
        `(nominal, observed)`, two arrays of the levels' shape.

    Example:
        >>> import numpy as np, likely
        >>> p = likely.Predictive(likely.distributions.Normal(np.zeros(4), np.ones(4)))
        >>> y = np.array([-2.0, -0.1, 0.1, 2.0])
        >>> likely.metrics.calibration_curve(y, p, [0.25, 0.5, 0.75])[1]
        array([0.25, 0.5 , 0.75])
    """
    levels = DEFAULT_LEVELS if levels is None else _numeric.check_levels(levels)
    u = pit(y_true, predictive)
    if kind == "quantile":
        observed = np.mean(u[None, :] <= levels[:, None], axis=1)
    elif kind == "interval":
        observed = np.mean(np.abs(u[None, :] - 0.5) <= levels[:, None] / 2.0, axis=1)
    else:
        raise ValueError(f"Argument `kind` must be 'quantile' or 'interval'. Received: {kind!r}.")
    return np.array(levels, dtype=np.float64), observed


def calibration_error(
    y_true: Any, predictive: Any, levels: Any = None, *, kind: str = "quantile"
) -> float:
    """Mean absolute calibration error, `mean_j |observed(p_j) - p_j|`.

    Averaged over the levels of `calibration_curve` (default 0.01, ..., 0.99,
    one-sided quantiles); the "mean absolute calibration error" of
    uncertainty-toolbox (Chung et al. 2021) and the L1 form of Kuleshov et
    al. (2018)'s calibration error. 0 for perfect calibration; sampling noise
    alone gives about `0.8 * sqrt(p (1 - p) / n)`.

    Args:
        y_true: True values, shape (n,).
        predictive: A `likely.Predictive` or a likely distribution.
        levels: Nominal probabilities in (0, 1); default 0.01, ..., 0.99.
        kind: "quantile" or "interval" (see `calibration_curve`).

    Returns:
        A float in [0, 1].

    Example:
        >>> import numpy as np, likely
        >>> p = likely.Predictive(likely.distributions.Normal(np.zeros(2), np.ones(2)))
        >>> likely.metrics.calibration_error(np.array([5.0, 6.0]), p, [0.5])  # all above
        0.5
    """
    nominal, observed = calibration_curve(y_true, predictive, levels, kind=kind)
    return float(np.mean(np.abs(observed - nominal)))
