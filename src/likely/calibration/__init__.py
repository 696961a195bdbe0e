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
- `SplitConformal(level).fit(predictive, y).interval(predictive)` and
  `ConformalizedQuantileRegression(level)`: intervals with a finite-sample
  coverage guarantee.

`fit` takes `(predictive, y)` like scikit-learn's `fit(X, y)`.
"""

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

__all__ = [
    "ConformalizedQuantileRegression",
    "IsotonicRecalibrator",
    "NotFittedError",
    "RecalibratedPredictive",
    "ScaleRecalibrator",
    "SplitConformal",
    "conformal_quantile",
]
