"""Temperature scaling of classifiers (Guo, Pleiss, Sun & Weinberger 2017)."""

from __future__ import annotations

from typing import Any

import numpy as np
from keras import ops
from scipy import optimize, special

from likely.calibration._isotonic import NotFittedError
from likely.distributions import Bernoulli, Categorical
from likely.metrics import _numeric
from likely.models import Predictive


class TemperatureScaling:
    """Divides a classifier's logits by one temperature T fitted by held-out log loss.

    A network trained long by cross-entropy is often over-confident; dividing
    every logit by T > 1 softens its probabilities (T < 1 sharpens them)
    without changing which class it predicts, so accuracy is unchanged and
    only calibration moves. T is the held-out maximum-likelihood value.

    Works on predictives of `Bernoulli`, `Categorical` and `OneHotCategorical`
    heads (for ensembles, on the mixture's averaged probabilities).

    Attributes:
        temperature_: The fitted T.
        n_samples_: Number of calibration points.

    Example:
        >>> import numpy as np, likely
        >>> rng = np.random.default_rng(0)
        >>> logits = rng.normal(size=4000) * 3.0
        >>> y = (rng.uniform(size=4000) < 1 / (1 + np.exp(-logits / 3.0))).astype(int)
        >>> confident = likely.distributions.Bernoulli(logits=logits)  # 3x too confident
        >>> round(likely.calibration.TemperatureScaling().fit(confident, y).temperature_, 1)
        3.0
    """

    def fit(self, predictive: Any, y: Any) -> TemperatureScaling:
        """Fits T on held-out `(predictive, y)` pairs; returns self."""
        logits, binary = _logits(predictive)
        classes = 2 if binary else logits.shape[1]
        labels = _numeric.check_labels(y, logits.shape[0], classes)

        def nll(log_t: float) -> float:
            scaled = logits / np.exp(log_t)
            if binary:
                return float(np.mean(np.logaddexp(0.0, np.where(labels == 1, -scaled, scaled))))
            log_p = special.log_softmax(scaled, axis=1)
            return -float(np.mean(log_p[np.arange(labels.size), labels]))

        best = optimize.minimize_scalar(nll, bounds=(-5.0, 5.0), method="bounded")
        self.temperature_ = float(np.exp(best.x))
        self.n_samples_ = int(labels.size)
        return self

    def transform(self, predictive: Any) -> Predictive:
        """The predictive with its logits divided by the fitted temperature."""
        if not hasattr(self, "temperature_"):
            raise NotFittedError("This TemperatureScaling is not fitted yet: call fit first.")
        p = _numeric.as_predictive(predictive)
        d = p.distribution
        logits, _ = _logits(p)
        scaled = (logits / self.temperature_).astype(np.float32)
        return Predictive(type(d)(scaled))

    def fit_transform(self, predictive: Any, y: Any) -> Predictive:
        return self.fit(predictive, y).transform(predictive)

    def __repr__(self) -> str:
        fitted = f", temperature_={self.temperature_:.4g}" if hasattr(self, "temperature_") else ""
        return f"TemperatureScaling({fitted.lstrip(', ')})"


def _logits(predictive: Any) -> tuple[np.ndarray, bool]:
    d = _numeric.as_predictive(predictive).distribution
    if isinstance(d, Bernoulli) and len(d.batch_shape) == 1:
        return np.asarray(ops.convert_to_numpy(d.logits), dtype=np.float64), True
    if isinstance(d, Categorical) and len(d.batch_shape) == 1:
        return np.asarray(ops.convert_to_numpy(d.logits), dtype=np.float64), False
    raise TypeError(
        "TemperatureScaling works on classifiers: a predictive of a Bernoulli, Categorical or "
        f"OneHotCategorical with batch shape (n,). Received: {d!r}."
    )
