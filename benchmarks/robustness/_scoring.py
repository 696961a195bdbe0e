"""Scores of one predictive on one test set, in the target's raw units.

- `nll`: mean negative log-density of the test targets;
- `crps`: mean continuous ranked probability score;
- `rmse`: root mean squared error of the predictive mean;
- `pit_ks`: Kolmogorov-Smirnov distance of the test PIT values from uniform;
- `cov68`, `cov95`: share of test targets inside the central 68% / 95% interval
  (`|PIT - 1/2| <= level / 2`);
- `ks_truth` (synthetic sets): the mean over test rows of the Kolmogorov
  distance `sup_y |F(y | x) - F_true(y | x)|` between the predictive and the
  true conditional, which is the KS distance of the PIT `F(Y | x)` from
  uniform when `Y` is drawn from the truth. Unlike `pit_ks` it is zero only
  for the true conditional (a predictive that ignores `x` can have a
  uniform marginal PIT). Evaluated on `TRUTH_POINTS` true quantiles per
  row, so it is within `1 / TRUTH_POINTS` of the supremum.

likely's predictive is scored with `likely.metrics`; normal predictives
(NGBoost, the constant baseline) with formulas written here on SciPy (the
closed-form CRPS of Gneiting et al. 2005, a hand-written KS statistic),
and `agreement` checks both on the same normal predictive.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import special, stats

from benchmarks.robustness._methods import NormalPrediction
from benchmarks.robustness._truth import Truth

METRICS = ("nll", "crps", "rmse", "pit_ks", "cov68", "cov95", "ks_truth")
TRUTH_POINTS = 500
LEVELS = {"cov68": 0.68, "cov95": 0.95}


def ks_uniform(u: np.ndarray) -> float:
    """`sup_u |F_n(u) - u|` of values in [0, 1], from the order statistics."""
    u = np.sort(np.asarray(u, dtype=np.float64))
    n = u.size
    i = np.arange(1, n + 1)
    return float(max(np.max(i / n - u), np.max(u - (i - 1) / n)))


def _coverages(u: np.ndarray) -> dict[str, float]:
    return {k: float(np.mean(np.abs(u - 0.5) <= level / 2.0)) for k, level in LEVELS.items()}


def kolmogorov_to_truth(
    cdf_at: Callable[[np.ndarray], np.ndarray], truth: Truth, points: int = TRUTH_POINTS
) -> float:
    """Mean over rows of `max_j |F_i(g_ij) - F_true,i(g_ij)|` on the truth's grid `g`.

    Args:
        cdf_at: Maps one value per row, shape (n,), to the predictive CDF there.
        truth: The true conditional of the n rows.
        points: Grid points per row (per component for a mixture).
    """
    grid = truth.grid(points)
    largest = np.zeros(grid.shape[0])
    for j in range(grid.shape[1]):
        column = np.ascontiguousarray(grid[:, j])
        gap = np.abs(np.asarray(cdf_at(column), dtype=np.float64) - truth.cdf(column))
        np.maximum(largest, gap, out=largest)
    return float(np.mean(largest))


def score_likely(predictive: Any, y: np.ndarray, truth: Truth | None) -> dict[str, float]:
    """Scores of a `likely.Predictive`, with `likely.metrics`."""
    from likely import metrics

    u = metrics.pit(y, predictive)
    scores = {
        "nll": float(metrics.nll(y, predictive)),
        "crps": float(metrics.crps(y, predictive)),
        "rmse": float(np.sqrt(np.mean((np.asarray(predictive.mean, np.float64) - y) ** 2))),
        "pit_ks": float(metrics.pit_ks(y, predictive)),
        "cov68": float(metrics.coverage(y, predictive, level=0.68)),
        "cov95": float(metrics.coverage(y, predictive, level=0.95)),
        "ks_truth": math.nan,
    }
    if not np.isfinite(u).all():
        raise ValueError("likely.metrics.pit returned non-finite values")
    if truth is not None:
        scores["ks_truth"] = kolmogorov_to_truth(lambda v: metrics.pit(v, predictive), truth)
    return scores


def crps_normal(y: np.ndarray, loc: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """`sigma [z (2 Phi(z) - 1) + 2 phi(z) - 1/sqrt(pi)]` (Gneiting et al. 2005)."""
    z = (y - loc) / scale
    return scale * (
        z * (2.0 * special.ndtr(z) - 1.0) + 2.0 * stats.norm.pdf(z) - 1 / math.sqrt(math.pi)
    )


def score_normal(
    prediction: NormalPrediction, y: np.ndarray, truth: Truth | None
) -> dict[str, float]:
    """Scores of a normal predictive per row, independently of likely."""
    loc, scale = prediction.loc, prediction.scale
    if not (np.isfinite(loc).all() and np.isfinite(scale).all() and (scale > 0).all()):
        raise ValueError("the normal predictive has non-finite locations or non-positive scales")
    u = special.ndtr((y - loc) / scale)
    scores = {
        "nll": float(-np.mean(stats.norm.logpdf(y, loc, scale))),
        "crps": float(np.mean(crps_normal(y, loc, scale))),
        "rmse": float(np.sqrt(np.mean((loc - y) ** 2))),
        "pit_ks": ks_uniform(u),
        **_coverages(u),
        "ks_truth": math.nan,
    }
    if truth is not None:
        scores["ks_truth"] = kolmogorov_to_truth(lambda v: special.ndtr((v - loc) / scale), truth)
    return scores


def score_truth(truth: Truth, y: np.ndarray) -> dict[str, float]:
    """Scores of the true conditional itself: the floor a method can reach."""
    u = truth.cdf(y)
    return {
        "nll": float(-np.mean(truth.logpdf(y))),
        "crps": float(np.mean(truth.crps(y))),
        "rmse": float(np.sqrt(np.mean((truth.mean - y) ** 2))),
        "pit_ks": ks_uniform(u),
        **_coverages(u),
        "ks_truth": 0.0,
    }


def agreement(prediction: NormalPrediction, y: np.ndarray, truth: Truth | None) -> dict[str, float]:
    """Differences, per metric, between `likely.metrics` and `score_normal`.

    Both score the same normal predictive (wrapped as a `likely.Predictive`).
    Each difference is `|a - b| / max(1, |a|)` (relative for scores in large
    target units), and should be at float32 round-off: likely's
    distributions hold float32 parameters.
    """
    import likely

    predictive = likely.Predictive(likely.distributions.Normal(prediction.loc, prediction.scale))
    ours = score_normal(prediction, y, truth)
    theirs = score_likely(predictive, y, truth)
    return {
        k: abs(ours[k] - theirs[k]) / max(1.0, abs(ours[k]))
        for k in METRICS
        if not (math.isnan(ours[k]) and math.isnan(theirs[k]))
    }
