"""The reliability diagram of a probabilistic classifier."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from likely.metrics import expected_calibration_error, reliability_curve
from likely.plots._axes import axes_or_new

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def plot_classification_reliability(
    y_true: Any,
    predictive: Any,
    *,
    bins: int = 15,
    label: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Observed frequency against predicted probability per bin, with the diagonal.

    Points on the diagonal are calibrated; below it the classifier is
    over-confident. Marker areas follow the bin counts and the expected
    calibration error is printed in the corner. For two classes the x axis
    is P(class 1); for more, the top-label confidence (Guo et al. 2017).

    Args:
        y_true: Labels 0..C-1, shape (n,), or one-hot (n, C).
        predictive: A classifier's predictive (Bernoulli, Categorical,
            OneHotCategorical) or class probabilities.
        bins: Number of equal-width confidence bins.
        label: Legend label (e.g. the model's name).
        ax: Axes to draw into; default a new standalone figure.

    Returns:
        The matplotlib Axes.

    Example:
        >>> import numpy as np, likely
        >>> rng = np.random.default_rng(0)
        >>> p = rng.uniform(size=2000)
        >>> ax = likely.plots.plot_classification_reliability(rng.uniform(size=2000) < p, p)
        >>> ax.get_xlabel()
        'predicted probability of class 1'
    """
    y = np.asarray(y_true)
    if y.dtype == bool:
        y = y.astype(int)
    confidence, accuracy, count = reliability_curve(y, predictive, bins)
    ece = expected_calibration_error(y, predictive, bins)
    ax = axes_or_new(ax, figsize=(4.6, 4.4))
    ax.plot([0, 1], [0, 1], color="0.6", ls="--", lw=1, label="calibrated")
    sizes = 12 + 200 * count / count.max()
    ax.plot(confidence, accuracy, color="C0", lw=1.2, alpha=0.7)
    ax.scatter(confidence, accuracy, s=sizes, color="C0", zorder=3, label=label or "model")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    binary = _is_binary(predictive)
    ax.set_xlabel("predicted probability of class 1" if binary else "top-label confidence")
    ax.set_ylabel("observed frequency of class 1" if binary else "accuracy")
    ax.text(0.04, 0.95, f"ECE = {ece:.3f}", transform=ax.transAxes, va="top", fontsize="small")
    ax.legend(frameon=False, fontsize="small", loc="lower right")
    return ax


def _is_binary(predictive: Any) -> bool:
    from likely.metrics import class_probabilities

    return class_probabilities(predictive).shape[1] == 2
