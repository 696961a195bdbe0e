"""Recalibration of predictive distributions and conformal prediction intervals.

Both are fitted on held-out data (not used for training) and then applied
to new predictions:

- `IsotonicRecalibrator().fit(predictive, y).transform(predictive)`: a
  recalibrated `Predictive` (PIT-based, Kuleshov et al. 2018) whose `cdf`,
  `quantile`, `pdf` and `interval` stay mutually consistent;
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

__all__ = [
    "ConformalizedQuantileRegression",
    "IsotonicRecalibrator",
    "NotFittedError",
    "RecalibratedPredictive",
    "SplitConformal",
    "conformal_quantile",
]
