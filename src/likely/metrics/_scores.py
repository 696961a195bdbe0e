"""Proper scores and sharpness: negative log-likelihood, CRPS, interval score."""

from __future__ import annotations

from typing import Any

import numpy as np

from likely.metrics import _numeric

Reduction = str


def nll(y_true: Any, predictive: Any, *, reduction: Reduction = "mean") -> Any:
    """Negative log-likelihood (the logarithmic score) of `y_true` under `predictive`.

    `NLL_i = -log p_i(y_i)`, computed in float64 (log-sum-exp over mixture
    components), so far outliers give large finite values. Lower is better;
    it is a strictly proper score (Good 1952; Gneiting & Raftery 2007, JASA 102, 359).

    Args:
        y_true: True values, shape (n,) (or (n, 1)).
        predictive: A `likely.Predictive` with batch shape (n,) and scalar
            events, or a likely distribution.
        reduction: "mean" (default) or "sum" give a float, "none" the per-object array.

    Returns:
        The reduced score, or an array of shape (n,).

    Example:
        >>> import numpy as np, likely
        >>> p = likely.Predictive(likely.distributions.Normal(np.zeros(2), np.ones(2)))
        >>> round(likely.metrics.nll(np.array([0.0, 1.0]), p), 4)  # log(2 pi)/2 + 1/4
        1.1689
    """
    p = _numeric.as_predictive(predictive)
    y = _numeric.check_y_true(y_true, _numeric.check_scalar_batch(p))
    return _numeric.reduce(-_numeric.log_pdf_of(p, y), reduction)


def crps(y_true: Any, predictive: Any, *, reduction: Reduction = "mean") -> Any:
    """Continuous ranked probability score of `predictive` at `y_true`.

    `CRPS(F, y) = int (F(x) - 1{x >= y})^2 dx = E|X - y| - E|X - X'|/2`
    (Matheson & Winkler 1976; Gneiting & Raftery 2007). It has the units of
    `y`, is strictly proper, and equals the absolute error for a point mass.
    Normals use the closed form of Gneiting et al. (2005)
    `sigma [z (2 Phi(z) - 1) + 2 phi(z) - 1/sqrt(pi)]` and normal mixtures
    that of Grimit et al. (2006), both through `scoringrules`
    (`crps_normal`, `crps_mixnorm`). Predictives without a closed form (a
    recalibrated one) are integrated numerically on nodes placed on every
    component, to ~1e-4 relative accuracy.

    Args:
        y_true: True values, shape (n,) (or (n, 1)).
        predictive: A `likely.Predictive` (batch shape (n,), scalar events)
            or a likely distribution.
        reduction: "mean" (default) or "sum" give a float, "none" the per-object array.

    Returns:
        The reduced score, or an array of shape (n,).

    Example:
        >>> import numpy as np, likely
        >>> p = likely.Predictive(likely.distributions.Normal(np.zeros(1), np.ones(1)))
        >>> round(likely.metrics.crps(np.zeros(1), p), 4)  # (sqrt 2 - 1) / sqrt(pi)
        0.2337
    """
    p = _numeric.as_predictive(predictive)
    _numeric.check_continuous(p)
    y = _numeric.check_y_true(y_true, _numeric.check_scalar_batch(p))
    closed = p.distribution.crps_closed_form(y) if _numeric.is_plain(p) else None
    values = closed if closed is not None else _numeric.crps_numeric(p, y)
    return _numeric.reduce(np.asarray(values, dtype=np.float64), reduction)


def interval_bounds(
    predictive_or_bounds: Any, level: float, n: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) from a `(lower, upper)` pair or a predictive's central interval."""
    level = _numeric.check_level(level)
    if isinstance(predictive_or_bounds, tuple | list) and len(predictive_or_bounds) == 2:
        lower = _numeric.check_y_true(predictive_or_bounds[0], n, name="lower")
        upper = _numeric.check_y_true(predictive_or_bounds[1], n, name="upper")
        if (upper < lower).any():
            raise ValueError(
                "Interval bounds must satisfy lower <= upper, but "
                f"{int((upper < lower).sum())} of {lower.size} intervals do not."
            )
        return lower, upper
    p = _numeric.as_predictive(predictive_or_bounds, name="predictive_or_bounds")
    _numeric.check_scalar_batch(p, name="predictive_or_bounds")
    lower, upper = p.interval(level)
    return np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)


def interval_score(
    y_true: Any, predictive_or_bounds: Any, level: float = 0.9, *, reduction: Reduction = "mean"
) -> Any:
    """Interval score of a central prediction interval (lower is better).

    With `alpha = 1 - level`:
    `IS = (u - l) + (2 / alpha) (l - y) 1{y < l} + (2 / alpha) (y - u) 1{y > u}`
    (Gneiting & Raftery 2007, eq. 43): the width plus a penalty for misses,
    proper for the (alpha/2, 1 - alpha/2) quantiles.

    Args:
        y_true: True values, shape (n,).
        predictive_or_bounds: A predictive (its central `level` interval is
            used) or a pair `(lower, upper)` of arrays, e.g. conformal intervals.
        level: Nominal coverage of the interval, in (0, 1).
        reduction: "mean" (default), "sum" or "none".

    Returns:
        The reduced score, or an array of shape (n,).

    Example:
        >>> import numpy as np, likely
        >>> y = np.array([0.0, 2.0])
        >>> likely.metrics.interval_score(y, (np.array([-1.0, -1.0]), np.array([1.0, 1.0])),
        ...                               level=0.5, reduction="none")
        array([2., 6.])
    """
    y = _numeric.check_y_true(y_true)
    lower, upper = interval_bounds(predictive_or_bounds, level, y.shape[0])
    if lower.shape != y.shape:
        raise ValueError(
            f"Argument `y_true` must have one value per interval: shape {lower.shape}. "
            f"Received: shape {y.shape}."
        )
    alpha = 1.0 - float(level)
    score = (upper - lower) + (2.0 / alpha) * (
        np.maximum(lower - y, 0.0) + np.maximum(y - upper, 0.0)
    )
    return _numeric.reduce(score, reduction)


def sharpness(predictive: Any) -> float:
    """Sharpness: the root mean predictive variance, `sqrt(mean_i Var[Y_i])`.

    Smaller is sharper; it is only meaningful together with calibration
    ("maximize sharpness subject to calibration", Gneiting, Balabdaoui &
    Raftery 2007, JRSS B 69, 243). Same definition as uncertainty-toolbox
    (Chung et al. 2021), in the units of `y`.

    Args:
        predictive: A `likely.Predictive` (batch shape (n,)) or a likely distribution.

    Returns:
        A float.

    Example:
        >>> import numpy as np, likely
        >>> p = likely.Predictive(likely.distributions.Normal(np.zeros(2), np.array([1.0, 7.0])))
        >>> likely.metrics.sharpness(p)  # sqrt((1 + 49) / 2)
        5.0
    """
    p = _numeric.as_predictive(predictive)
    _numeric.check_scalar_batch(p)
    return float(np.sqrt(np.mean(_numeric.variance_of(p))))
