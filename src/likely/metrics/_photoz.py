"""Photometric-redshift metrics: point estimates, scaled residuals, outliers, CDE loss.

Definitions follow LSST-DESC RAIL / qp (Schmidt et al. 2020, MNRAS 499, 1587)
so that numbers are comparable with the DC2 photo-z literature.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from likely.distributions import Distribution
from likely.metrics import _numeric
from likely.models import Predictive

DEFAULT_Z_GRID = np.linspace(0.0, 3.0, 301)
"""Redshift grid of `cde_loss`: 0 to 3 in steps of 0.01 (DC2 / RAIL convention)."""

RAIL_OUTLIER_FLOOR = 0.06
CATASTROPHIC_THRESHOLD = 0.15
_IQR_TO_SIGMA = 1.349
_MAD_TO_SIGMA = 1.4826


def point_estimate(predictive: Any, method: str = "mode") -> np.ndarray:
    """A point redshift (or value) per object from its predictive distribution.

    Args:
        predictive: A `likely.Predictive` (batch shape (n,)) or a likely distribution.
        method: "mode" (highest density, RAIL's `zmode`, the usual photo-z
            point estimate), "mean" or "median".

    Returns:
        An array of shape (n,).

    Example:
        >>> import numpy as np, likely
        >>> d = likely.distributions.MixtureNormal(np.log([[0.7, 0.3]]), [[0.5, 2.0]], [[0.1, 0.1]])
        >>> float(likely.metrics.point_estimate(d, "mode")[0].round(3))
        0.5
        >>> float(likely.metrics.point_estimate(d, "mean")[0].round(3))
        0.95
    """
    p = _numeric.as_predictive(predictive)
    _numeric.check_scalar_batch(p)
    if method == "mode":
        return np.asarray(p.mode, dtype=np.float64)
    if method == "mean":
        return _numeric.mean_of(p)
    if method == "median":
        return np.asarray(p.quantile(0.5), dtype=np.float64)
    raise ValueError(f"Argument `method` must be 'mode', 'mean' or 'median'. Received: {method!r}.")


def _redshifts(z_true: Any, z_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    z = _numeric.check_y_true(z_true, name="z_true")
    if (z <= -1.0).any():
        raise ValueError(
            f"Argument `z_true` must be > -1 (1 + z > 0). Received a minimum of {z.min()!r}."
        )
    if isinstance(z_pred, Predictive | Distribution):
        z_pred = point_estimate(z_pred, "mode")
    zp = _numeric.check_y_true(z_pred, z.shape[0], name="z_pred")
    return z, zp


def ez(z_true: Any, z_pred: Any) -> np.ndarray:
    """Scaled photo-z residuals `ez = (z_pred - z_true) / (1 + z_true)`.

    Args:
        z_true: True (spectroscopic) redshifts, shape (n,), > -1.
        z_pred: Point estimates, shape (n,), or a predictive (its mode is used).

    Returns:
        An array of shape (n,).

    Example:
        >>> import numpy as np, likely
        >>> likely.metrics.ez(np.array([0.0, 1.0]), np.array([0.1, 1.2]))
        array([0.1, 0.1])
    """
    z, zp = _redshifts(z_true, z_pred)
    return (zp - z) / (1.0 + z)


def bias(z_true: Any, z_pred: Any) -> float:
    """Photo-z bias: the median of `ez = (z_pred - z_true) / (1 + z_true)`.

    The median (as in RAIL) is robust to catastrophic outliers.

    Example:
        >>> import numpy as np, likely
        >>> likely.metrics.bias(np.zeros(3), np.array([-0.1, 0.02, 5.0]))
        0.02
    """
    return float(np.median(ez(z_true, z_pred)))


def sigma_iqr(z_true: Any, z_pred: Any) -> float:
    """Robust scatter of `ez`: interquartile range / 1.349 (a normal's sigma).

    `sigma_IQR = (P75(ez) - P25(ez)) / 1.349`, percentiles with linear
    interpolation (`numpy.percentile`), as in RAIL's `PointSigmaIQR`.

    Example:
        >>> import numpy as np, likely
        >>> ez = 1.349 * np.array([-1.0, -0.5, 0.0, 0.5, 1.0])  # quartiles -0.5, 0.5
        >>> round(likely.metrics.sigma_iqr(np.zeros(5), ez), 6)
        1.0
    """
    q75, q25 = np.percentile(ez(z_true, z_pred), [75.0, 25.0])
    return float((q75 - q25) / _IQR_TO_SIGMA)


def sigma_mad(z_true: Any, z_pred: Any) -> float:
    """Robust scatter of `ez`: `1.4826 * median(|ez - median(ez)|)` (a normal's sigma).

    Example:
        >>> import numpy as np, likely
        >>> likely.metrics.sigma_mad(np.zeros(3), np.array([-1.0, 0.0, 1.0]))
        1.4826
    """
    e = ez(z_true, z_pred)
    return float(_MAD_TO_SIGMA * np.median(np.abs(e - np.median(e))))


def outlier_threshold(z_true: Any, z_pred: Any, threshold: Any = "rail") -> float:
    """The `|ez|` cut of `outlier_rate`: `max(0.06, 3 sigma_IQR)` for "rail", else `threshold`.

    Example:
        >>> import numpy as np, likely
        >>> likely.metrics.outlier_threshold(np.zeros(3), np.array([0.0, 0.001, 0.002]))
        0.06
    """
    if isinstance(threshold, str):
        if threshold != "rail":
            raise ValueError(
                "Argument `threshold` must be 'rail' or a positive number. "
                f"Received: {threshold!r}."
            )
        return max(RAIL_OUTLIER_FLOOR, 3.0 * sigma_iqr(z_true, z_pred))
    value = float(threshold)
    if not value > 0:
        raise ValueError(f"Argument `threshold` must be positive. Received: {threshold!r}.")
    return value


def outlier_rate(z_true: Any, z_pred: Any, threshold: Any = "rail") -> float:
    """Fraction of objects with `|ez|` above a threshold.

    - `threshold="rail"` (default): `|ez| > max(0.06, 3 sigma_IQR)`, RAIL's
      `PointOutlierRate` (the LSST SRD convention);
    - `threshold=0.15`: the classic catastrophic-outlier fraction
      (e.g. Hildebrandt et al. 2010, A&A 523, A31); any positive float works.

    Args:
        z_true: True redshifts, shape (n,).
        z_pred: Point estimates, shape (n,), or a predictive (its mode is used).
        threshold: "rail" or a positive number.

    Returns:
        A float in [0, 1].

    Example:
        >>> import numpy as np, likely
        >>> z, z_pred = np.zeros(5), np.array([0.0, 0.01, -0.01, 0.1, 0.5])
        >>> round(likely.metrics.outlier_threshold(z, z_pred), 4)  # 3 sigma_IQR > 0.06
        0.2224
        >>> likely.metrics.outlier_rate(z, z_pred), likely.metrics.outlier_rate(z, z_pred, 0.05)
        (0.2, 0.4)
    """
    z, zp = _redshifts(z_true, z_pred)
    cut = outlier_threshold(z, zp, threshold)
    return float(np.mean(np.abs((zp - z) / (1.0 + z)) > cut))


def cde_loss(z_true: Any, predictive: Any, grid: Any = None) -> float:
    """Conditional density estimation loss (Izbicki & Lee 2017, EJS 11, 2800).

    `L = E_x[ int p(z|x)^2 dz ] - 2 E[ p(z_true|x) ]`, the squared L2 distance
    between predicted and true conditional densities up to a constant; lower
    is better, and it can be negative. The integral uses the trapezoid rule
    on `grid` (default 0 <= z <= 3 in 301 steps of 0.01, the DC2 convention;
    mass outside the grid is ignored); the second term evaluates the density
    exactly at `z_true` (RAIL/qp's `CDELoss` takes the nearest grid node
    instead, which differs by O(grid step)).

    Args:
        z_true: True values, shape (n,).
        predictive: A `likely.Predictive` (batch shape (n,)) or a likely distribution.
        grid: Increasing 1-D grid of at least 2 points; default `DEFAULT_Z_GRID`.

    Returns:
        A float.

    Example:
        >>> import numpy as np, likely
        >>> p = likely.Predictive(likely.distributions.Normal(np.ones(1), np.full(1, 0.1)))
        >>> # 1 / (2 sigma sqrt(pi)) - 2 / (sigma sqrt(2 pi))
        >>> round(likely.metrics.cde_loss(np.ones(1), p), 3)
        -5.158
    """
    p = _numeric.as_predictive(predictive)
    z = _numeric.check_y_true(z_true, _numeric.check_scalar_batch(p), name="z_true")
    grid = DEFAULT_Z_GRID if grid is None else np.asarray(grid, dtype=np.float64)
    if grid.ndim != 1 or grid.size < 2 or not (np.diff(grid) > 0).all():
        raise ValueError(
            "Argument `grid` must be a strictly increasing 1-D array of at least 2 points. "
            f"Received: shape {grid.shape}."
        )
    squared = np.empty(z.shape[0])
    for rows in _numeric.row_chunks(p, z.shape[0], grid.size):
        table = _numeric.evaluator_of(p, rows).pdf(grid[:, None])  # (G, rows)
        squared[rows] = np.trapezoid(table**2, grid, axis=0)
    at_truth = _numeric.pdf_of(p, z)
    return float(np.mean(squared) - 2.0 * np.mean(at_truth))
