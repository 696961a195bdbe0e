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
- Classifiers (Bernoulli, categorical heads): `log_loss`, `brier_score`,
  `expected_calibration_error`, `reliability_curve`, `class_probabilities`.
- Several target dimensions (a multivariate normal head): `energy_score`,
  `mahalanobis_pit`.
- Everything at once: `report` (dict) and `report_frame` (DataFrame).
- During training, for `model.compile(metrics=[...])`: `PredictiveNLL`,
  `CRPS`, `Coverage(level)` and `OnMean("mae")` (Keras metrics on the head's
  distribution).
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
from likely.metrics._classification import (
    brier_score,
    class_probabilities,
    expected_calibration_error,
    log_loss,
    reliability_curve,
)
from likely.metrics._keras import CRPS, Coverage, OnMean, PredictiveNLL
from likely.metrics._multivariate import energy_score, mahalanobis_pit
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
    "CRPS",
    "DEFAULT_Z_GRID",
    "Coverage",
    "OnMean",
    "PredictiveNLL",
    "bias",
    "brier_score",
    "calibration_curve",
    "calibration_error",
    "class_probabilities",
    "cde_loss",
    "coverage",
    "crps",
    "energy_score",
    "expected_calibration_error",
    "ez",
    "interval_score",
    "log_loss",
    "mahalanobis_pit",
    "nll",
    "outlier_rate",
    "outlier_threshold",
    "pit",
    "pit_ad",
    "pit_cvm",
    "pit_ks",
    "pit_outlier_rate",
    "point_estimate",
    "reliability_curve",
    "report",
    "report_frame",
    "sharpness",
    "sigma_iqr",
    "sigma_mad",
    "uniformity_tests",
]
