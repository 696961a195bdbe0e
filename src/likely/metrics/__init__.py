"""Scores and diagnostics of predictive distributions, on NumPy/SciPy.

Every function takes the true values first, as Keras losses do:
`metric(y_true, predictive)`, where `predictive` is a `likely.Predictive`
with batch shape (n,) and scalar events, or a likely distribution
(`Normal`, `MixtureNormal`). Densities, CDFs and scores are computed in
float64 (quantiles and the mode come from the predictive, in Keras' float32).

- Proper scores: `nll`, `crps`, `interval_score`; `sharpness`.
- Calibration: `pit`, `pit_ks`, `pit_cvm`, `pit_ad`, `uniformity_tests`,
  `pit_outlier_rate`, `coverage`, `calibration_curve`, `calibration_error`.
- Photometric redshifts: `point_estimate`, `ez`, `bias`, `sigma_iqr`,
  `sigma_mad`, `outlier_rate`, `outlier_threshold`, `cde_loss`.
- Everything at once: `report` (dict) and `report_frame` (DataFrame).
"""

from likely.metrics._calibration_metrics import (
    calibration_curve,
    calibration_error,
    coverage,
    pit,
    pit_ad,
    pit_cvm,
    pit_ks,
    pit_outlier_rate,
    uniformity_tests,
)
from likely.metrics._photoz import (
    DEFAULT_Z_GRID,
    bias,
    cde_loss,
    ez,
    outlier_rate,
    outlier_threshold,
    point_estimate,
    sigma_iqr,
    sigma_mad,
)
from likely.metrics._report import report, report_frame
from likely.metrics._scores import crps, interval_score, nll, sharpness

__all__ = [
    "DEFAULT_Z_GRID",
    "bias",
    "calibration_curve",
    "calibration_error",
    "cde_loss",
    "coverage",
    "crps",
    "ez",
    "interval_score",
    "nll",
    "outlier_rate",
    "outlier_threshold",
    "pit",
    "pit_ad",
    "pit_cvm",
    "pit_ks",
    "pit_outlier_rate",
    "point_estimate",
    "report",
    "report_frame",
    "sharpness",
    "sigma_iqr",
    "sigma_mad",
    "uniformity_tests",
]
