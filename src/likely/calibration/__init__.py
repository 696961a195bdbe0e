"""Recalibration of predictive distributions and conformal prediction intervals.

Both are fitted on held-out data (not used for training) and then applied
to new predictions:

- `IsotonicRecalibrator().fit(predictive, y).transform(predictive)`: a
  recalibrated `Predictive` (PIT-based, Kuleshov et al. 2018) whose `cdf`,
  `quantile`, `pdf` and `interval` stay mutually consistent;
- `ScaleRecalibrator().fit(predictive, y).transform(predictive)`: the
  predictive rescaled about its mean and broadened by a noise floor, two
  parameters fitted by held-out likelihood (for models whose predicted
  spread is too narrow or too wide);
- `TemperatureScaling().fit(predictive, y).transform(predictive)`: a
  classifier's logits divided by one temperature fitted by held-out log loss;
- `SplitConformal(level).fit(predictive, y).interval(predictive)` and
  `ConformalizedQuantileRegression(level)`: intervals with a finite-sample
  coverage guarantee.

`fit` takes `(predictive, y)` like scikit-learn's `fit(X, y)`.
`choose_recalibration` picks the identity, the scale or the isotonic map by
cross-fitted held-out NLL; a fitted map's `get_config()` is what a model's
head stores, so that `likely.predict_distribution` applies it.
"""

from likely.calibration._auto import (
    RECALIBRATIONS,
    RecalibrationChoice,
    apply_config,
    candidates,
    choose_recalibration,
)
from likely.calibration._conformal import (
    ConformalizedQuantileRegression,
    SplitConformal,
    conformal_quantile,
)
from likely.calibration._isotonic import (
    IsotonicRecalibrator,
    NotFittedError,
    RecalibratedPredictive,
)
from likely.calibration._scale import ScaleRecalibrator
from likely.calibration._temperature import TemperatureScaling
from likely.models import register_recalibration as _register

for _kind in ("scale", "isotonic"):
    _register(_kind, apply_config)

__all__ = [
    "RECALIBRATIONS",
    "RecalibrationChoice",
    "apply_config",
    "candidates",
    "choose_recalibration",
    "ConformalizedQuantileRegression",
    "IsotonicRecalibrator",
    "NotFittedError",
    "RecalibratedPredictive",
    "ScaleRecalibrator",
    "SplitConformal",
    "TemperatureScaling",
    "conformal_quantile",
]
