"""PIT-based isotonic recalibration (Kuleshov, Fenner & Ermon 2018)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from likely.metrics import _numeric
from likely.models import Predictive
from likely.models._predictive import _check_probability, _check_values

_MAX_KNOTS = 100
_SAMPLES_PER_KNOT = 200


class NotFittedError(ValueError, AttributeError):
    """Raised when a recalibrator or conformal predictor is used before `fit`."""


@dataclass(frozen=True)
class _Recalibrated:
    """Float64 evaluator of R(F(y)): the base evaluator composed with the knot map."""

    base: _numeric.Evaluator
    knots: np.ndarray
    levels: np.ndarray
    slopes: np.ndarray

    def _segment(self, u: np.ndarray, side: str = "right") -> np.ndarray:
        segment = np.searchsorted(self.knots, u, side=side) - 1
        return np.clip(segment, 0, self.slopes.size - 1)

    def cdf(self, y: Any) -> np.ndarray:
        return np.interp(self.base.cdf(y), self.knots, self.levels)

    def pdf(self, y: Any) -> np.ndarray:
        cdf, pdf = self.base.cdf_and_pdf(y)
        return self.slopes[self._segment(cdf)] * pdf

    def log_pdf(self, y: Any) -> np.ndarray:
        return np.log(self.slopes[self._segment(self.base.cdf(y))]) + self.base.log_pdf(y)

    def cdf_and_pdf(self, y: Any) -> tuple[np.ndarray, np.ndarray]:
        cdf, pdf = self.base.cdf_and_pdf(y)
        return np.interp(cdf, self.knots, self.levels), self.slopes[self._segment(cdf)] * pdf

    def tabulate(self, x: np.ndarray) -> tuple[np.ndarray, ...]:
        """Nodes `x` (G, n) plus the points where F crosses a knot, with one-sided densities.

        The recalibrated density jumps where the base CDF crosses a knot;
        placing those points on nodes keeps quadrature fourth-order accurate.
        They are found by linear interpolation of the tabulated base CDF and
        two Newton steps.
        """
        cdf, pdf = self.base.cdf_and_pdf(x)
        kinks = self._crossings(x, cdf)  # (J, n)
        kink_cdf, kink_pdf = self.base.cdf_and_pdf(kinks)
        j = np.arange(1, self.knots.size - 1)[:, None]  # the interior knot of each kink row
        left_seg = np.concatenate([self._segment(cdf), np.broadcast_to(j - 1, kinks.shape)])
        right_seg = np.concatenate([self._segment(cdf), np.broadcast_to(j, kinks.shape)])
        nodes = np.concatenate([x, kinks])
        order = np.argsort(nodes, axis=0, kind="stable")

        def take(a: np.ndarray) -> np.ndarray:
            return np.take_along_axis(a, order, axis=0)

        nodes, base_cdf = take(nodes), take(np.concatenate([cdf, kink_cdf]))
        base_pdf = take(np.concatenate([pdf, kink_pdf]))
        new_cdf = np.interp(base_cdf, self.knots, self.levels)
        return (
            nodes,
            new_cdf,
            self.slopes[take(left_seg)] * base_pdf,
            self.slopes[take(right_seg)] * base_pdf,
        )

    def _crossings(self, x: np.ndarray, cdf: np.ndarray) -> np.ndarray:
        """Per object, where the base CDF equals each interior knot: shape (J, n)."""
        g, n = cdf.shape
        targets = self.knots[1:-1]  # (J,)
        if targets.size == 0:
            return np.empty((0, n))
        # One searchsorted for all objects: offset each object's (sorted) CDF by 2 i.
        offset = 2.0 * np.arange(n)[:, None]
        flat = (np.maximum.accumulate(cdf, axis=0).T + offset).ravel()
        position = np.searchsorted(flat, (targets[None, :] + offset).ravel()).reshape(n, -1)
        upper = np.clip(position - np.arange(n)[:, None] * g, 1, g - 1).T  # (J, n)
        cols = np.arange(n)[None, :]
        xa, xb = x[upper - 1, cols], x[upper, cols]
        fa, fb = cdf[upper - 1, cols], cdf[upper, cols]
        span = np.where(fb > fa, fb - fa, 1.0)
        t = np.clip((targets[:, None] - fa) / span, 0.0, 1.0)
        guess = xa + t * (xb - xa)
        for _ in range(2):  # Newton: |F - knot| ~ 1e-5 after one step, ~1e-10 after two
            value, slope = self.base.cdf_and_pdf(guess)
            step = (value - targets[:, None]) / np.maximum(slope, 1e-300)
            guess = np.clip(guess - step, xa, xb)
        return guess


class RecalibratedPredictive(Predictive):
    """A predictive whose CDF is `R(F(y))`: a base predictive F mapped by a monotone R.

    `R` is continuous, piecewise linear and strictly increasing from (0, 0) to
    (1, 1) through `knots` (base PIT values) and `levels` (calibrated
    probabilities), so every method stays consistent with the CDF:

    - `cdf(y) = R(F(y))`; `pdf(y) = R'(F(y)) f(y)`, a piecewise rescaling of
      the base density (positive wherever it was);
    - `quantile(q) = F^-1(R^-1(q))`, so `interval`, `quantiles` and `sample`
      (inverse-CDF sampling) agree with `cdf`;
    - `mean`, `variance`, `mode` by quadrature (no closed form), computed
      once and cached (about 1e-4 relative accuracy; for 20,000 objects
      with 20 components each takes seconds);
    - no `aleatoric_variance` / `epistemic_variance` (see `.base`).

    `.distribution` is the base (uncalibrated) distribution; `.base` the base
    predictive. Build one with `IsotonicRecalibrator.transform`.

    Args:
        base: The predictive to recalibrate (batch shape (n,), scalar events).
        knots: Increasing base PIT values, from 0 to 1.
        levels: Increasing calibrated probabilities at `knots`, from 0 to 1.

    Example:
        >>> import numpy as np, likely
        >>> from likely.calibration import RecalibratedPredictive
        >>> base = likely.Predictive(likely.distributions.Normal(np.zeros(2), np.ones(2)))
        >>> p = RecalibratedPredictive(base, [0.0, 0.5, 1.0], [0.0, 0.3, 1.0])
        >>> p.cdf(np.zeros(2))
        array([0.3, 0.3])
        >>> np.round(p.quantile(0.3), 6)
        array([0., 0.])
    """

    def __init__(self, base: Predictive, knots: Any, levels: Any) -> None:
        base = _numeric.as_predictive(base, name="base")
        self._n = _numeric.check_scalar_batch(base, name="base")
        super().__init__(base.distribution)
        self.base = base
        self.knots, self.levels = _check_knots(knots, levels)
        self._slopes = np.diff(self.levels) / np.diff(self.knots)

    def __repr__(self) -> str:
        return f"RecalibratedPredictive({self.distribution!r}, knots={self.knots.size})"

    def _float64_evaluator(self, rows: Any) -> _Recalibrated | None:
        base = _numeric.evaluator_of(self.base, rows)
        if base is None:
            return None
        return _Recalibrated(base, self.knots, self.levels, self._slopes)

    def _evaluator(self) -> _Recalibrated:
        evaluator = self._float64_evaluator(slice(None))
        if evaluator is None:  # pragma: no cover - the full-row evaluator always exists
            raise RuntimeError("No evaluator for the base predictive.")
        return evaluator

    # -- the CDF and what derives from it -----------------------------------------
    def cdf(self, y: Any) -> np.ndarray:
        return self._evaluator().cdf(_check_values("y", y))

    def log_prob(self, y: Any) -> np.ndarray:
        return self._evaluator().log_pdf(_check_values("y", y))

    def pdf(self, y: Any) -> np.ndarray:
        return self._evaluator().pdf(_check_values("y", y))

    def quantile(self, q: Any) -> np.ndarray:
        """Quantile(s) at probability `q`: the base quantile at `R^-1(q)`."""
        q = _check_probability("q", q)
        u = np.interp(q, self.levels, self.knots)
        return np.asarray(self.base.quantile(u), dtype=np.float64)

    def sample(self, n: int = 1, seed: int | None = None) -> np.ndarray:
        """`n` draws per object, shape (n, *batch), by inverse-CDF sampling."""
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise ValueError(f"Argument `n` must be a positive integer. Received: n={n!r}")
        u = np.random.default_rng(seed).uniform(size=(int(n), self._n))
        return self.quantile(u)

    # -- summaries by quadrature ---------------------------------------------------
    @cached_property
    def _summaries(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return _numeric.summaries_numeric(self, self._n)

    @property
    def mean(self) -> np.ndarray:
        return self._summaries[0]

    @property
    def variance(self) -> np.ndarray:
        return self._summaries[1]

    @property
    def aleatoric_variance(self) -> np.ndarray:
        raise AttributeError(
            "A recalibrated predictive has no aleatoric/epistemic split: recalibration "
            "changes the total variance only. Use `.base.aleatoric_variance` for the "
            "uncalibrated split."
        )

    @property
    def epistemic_variance(self) -> np.ndarray:
        return self.aleatoric_variance

    @property
    def mode(self) -> np.ndarray:
        """The highest point of the recalibrated density (grid search, then refinement)."""
        return self._summaries[2]


def _check_knots(knots: Any, levels: Any) -> tuple[np.ndarray, np.ndarray]:
    u = np.asarray(knots, dtype=np.float64)
    t = np.asarray(levels, dtype=np.float64)
    if u.ndim != 1 or u.shape != t.shape or u.size < 2:
        raise ValueError(
            "Arguments `knots` and `levels` must be 1-D arrays of the same length >= 2. "
            f"Received: shapes {u.shape} and {t.shape}."
        )
    ends = (u[0], u[-1], t[0], t[-1])
    if ends != (0.0, 1.0, 0.0, 1.0) or (np.diff(u) <= 0).any() or (np.diff(t) <= 0).any():
        raise ValueError(
            "Arguments `knots` and `levels` must increase strictly from 0 to 1. "
            f"Received: knots from {u[0]!r} to {u[-1]!r}, levels from {t[0]!r} to {t[-1]!r}."
        )
    return u, t


class IsotonicRecalibrator:
    """Recalibrates a predictive with the empirical distribution of its PIT values.

    Kuleshov, Fenner & Ermon (2018, "Accurate uncertainties for deep learning
    using calibrated regression", ICML) fit a monotone map R from predicted
    to observed probability on held-out data, by isotonic regression of the
    empirical frequencies `P_hat(p) = #{j: PIT_j <= p} / n` on the PIT values
    `p = F(y)`; `R(F(y))` is then calibrated. Those targets are already
    sorted by PIT, so the isotonic fit is the empirical CDF of the PIT values
    itself (pooling ties only). Its slope, which multiplies the density, is
    pure sampling noise between neighbouring points, so R is taken as the
    piecewise-linear interpolation of that empirical CDF through `n_knots`
    evenly spaced levels (`knots_` are the PIT quantiles at `levels_ = j /
    n_knots`, Hazen plotting positions). The result is continuous, strictly
    increasing, and pins (0, 0) and (1, 1).

    Fit on data that were not used to train the model, then `transform` any
    predictive of the same model.

    Args:
        n_knots: Number of linear pieces of R: an int >= 1, "auto" (default:
            `n // 200` clipped to [min(10, n), 100], about 200 calibration
            points per piece) or None (one piece per calibration point: the
            raw isotonic fit, whose density is noisy).

    Attributes:
        knots_: Base PIT values at the knots (from 0 to 1).
        levels_: Calibrated probabilities at the knots (from 0 to 1).
        n_samples_: Number of calibration points.

    Example:
        >>> import numpy as np, likely
        >>> rng = np.random.default_rng(0)
        >>> wide = likely.distributions.Normal(np.zeros(4000), np.full(4000, 2.0))
        >>> recal = likely.calibration.IsotonicRecalibrator().fit(wide, rng.normal(size=4000))
        >>> lo, hi = recal.transform(wide).interval(0.68)
        >>> bool(abs(hi[0] - 1.0) < 0.1)  # the true 68% interval is +-0.994
        True
    """

    def __init__(self, n_knots: int | str | None = "auto") -> None:
        self.n_knots = n_knots

    def _knot_count(self, n: int) -> int:
        if self.n_knots is None:
            return n
        if self.n_knots == "auto":
            return int(np.clip(n // _SAMPLES_PER_KNOT, min(10, n), _MAX_KNOTS))
        if (
            isinstance(self.n_knots, bool)
            or not isinstance(self.n_knots, int | np.integer)
            or self.n_knots < 1
        ):
            raise ValueError(
                "Argument `n_knots` must be a positive integer, 'auto' or None. "
                f"Received: n_knots={self.n_knots!r}."
            )
        return int(min(self.n_knots, n))

    def fit(self, predictive: Any, y: Any) -> IsotonicRecalibrator:
        """Fits R on held-out `(predictive, y)` pairs; returns self.

        Args:
            predictive: Predictive distributions of the calibration objects.
            y: Their true values, shape (n,).
        """
        p = _numeric.as_predictive(predictive)
        y = _numeric.check_y_true(y, _numeric.check_scalar_batch(p), name="y")
        pit = np.sort(np.clip(_numeric.cdf_of(p, y), 0.0, 1.0))
        n = pit.size
        m = self._knot_count(n)
        if m >= n:
            # Every point: the empirical CDF at Hazen positions, ties pooled.
            knots, first = np.unique(pit, return_index=True)
            counts = np.diff(np.append(first, n))
            levels = (first + 0.5 * counts) / n
        else:
            levels = np.arange(1, m) / m
            knots = np.quantile(pit, levels, method="hazen")
        self.knots_, self.levels_ = _monotone_with_ends(knots, levels)
        self.n_samples_ = n
        return self

    def transform(self, predictive: Any) -> RecalibratedPredictive:
        """The recalibrated predictive `R(F(y))` of `predictive`."""
        if not hasattr(self, "knots_"):
            raise NotFittedError(
                "This IsotonicRecalibrator is not fitted yet: call fit(predictive, y) first."
            )
        return RecalibratedPredictive(_numeric.as_predictive(predictive), self.knots_, self.levels_)

    def fit_transform(self, predictive: Any, y: Any) -> RecalibratedPredictive:
        """`fit(predictive, y)` then `transform(predictive)` (for inspection, not evaluation)."""
        return self.fit(predictive, y).transform(predictive)


def _monotone_with_ends(knots: np.ndarray, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Adds (0, 0) and (1, 1) and drops knots that would not increase strictly."""
    u = np.concatenate([[0.0], knots, [1.0]])
    t = np.concatenate([[0.0], levels, [1.0]])
    keep = [0]
    for i in range(1, u.size - 1):
        if u[i] > u[keep[-1]] and t[i] > t[keep[-1]] and u[i] < 1.0 and t[i] < 1.0:
            keep.append(i)
    keep.append(u.size - 1)
    return u[keep], t[keep]
