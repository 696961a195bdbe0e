"""Covariate shift: each object's error against its distance from the training sample."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from likely.plots._axes import axes_or_new

if TYPE_CHECKING:
    from matplotlib.axes import Axes

_FLOOR = 1e-4
"""Errors below this are drawn at it (the y axis is logarithmic)."""


def plot_shift_score(
    shift_score: Any,
    error: Any,
    *,
    threshold: float = 1.0,
    error_label: str = "|ez|",
    bins: int = 20,
    gridsize: int = 60,
    ax: Axes | None = None,
) -> Axes:
    """Per-object error against the covariate-shift score, with the "outside" threshold.

    A hexbin of (score, error) on log axes, the median and 84th percentile of
    the error in bins of equal counts of the score, and a vertical line at
    `threshold` (objects to its right lie outside the training sample, see
    `likely.experiment.shift_score`). The legend gives the fraction outside and
    the median error on either side.

    Args:
        shift_score: Scores, shape (n,), positive.
        error: Errors of the same objects, shape (n,) (e.g. |ez| of a photo-z).
        threshold: Score above which an object is outside the training sample.
        error_label: Label of the y axis.
        bins: Number of score bins of the running percentiles.
        gridsize: Hexagons across the x axis.
        ax: Axes to draw into; default a new standalone figure (with a colour bar).

    Returns:
        The matplotlib Axes.

    Example:
        >>> import numpy as np, likely
        >>> rng = np.random.default_rng(0)
        >>> score = rng.lognormal(-0.5, 0.4, 3000)
        >>> ax = likely.plots.plot_shift_score(score, 0.02 * score * rng.lognormal(size=3000))
        >>> ax.get_xscale(), ax.get_legend().get_texts()[0].get_text()[:12]
        ('log', 'median error')
    """
    score = np.asarray(shift_score, dtype=float).ravel()
    err = np.asarray(error, dtype=float).ravel()
    if score.shape != err.shape or score.size == 0:
        raise ValueError(
            "Arguments `shift_score` and `error` must be non-empty 1-D arrays of the same length. "
            f"Received: shapes {np.shape(shift_score)} and {np.shape(error)}."
        )
    if not (np.isfinite(score).all() and (score > 0).all() and np.isfinite(err).all()):
        raise ValueError(
            "Argument `shift_score` must hold finite positive numbers and `error` finite numbers."
        )
    standalone = ax is None
    ax = axes_or_new(ax, figsize=(5.6, 4.4))
    shown = np.maximum(np.abs(err), _FLOOR)
    hexes = ax.hexbin(
        score,
        shown,
        xscale="log",
        yscale="log",
        gridsize=gridsize,
        bins="log",
        mincnt=1,
        cmap="viridis",
        linewidths=0,
    )
    if standalone:
        ax.figure.colorbar(hexes, ax=ax, label="objects per cell")
    edges = np.unique(np.quantile(score, np.linspace(0.0, 1.0, bins + 1)))
    which = np.clip(np.searchsorted(edges, score, side="right") - 1, 0, len(edges) - 2)
    centres, median, upper = [], [], []
    for b in range(len(edges) - 1):
        members = shown[which == b]
        if members.size:
            centres.append(float(np.median(score[which == b])))
            median.append(float(np.median(members)))
            upper.append(float(np.percentile(members, 84)))
    outside = score > threshold
    inside_text = f"{np.median(np.abs(err[~outside])):.3g}" if (~outside).any() else "-"
    outside_text = f"{np.median(np.abs(err[outside])):.3g}" if outside.any() else "-"
    ax.plot(
        centres,
        median,
        color="C1",
        lw=1.8,
        label=f"median error: {inside_text} inside, {outside_text} outside",
    )
    ax.plot(centres, upper, color="C1", lw=1.2, ls="--", label="84th percentile")
    ax.axvline(threshold, color="C3", lw=1.2, label=f"threshold: {np.mean(outside):.1%} outside")
    ax.set_xlabel("shift score (distance to the training sample / threshold)")
    ax.set_ylabel(error_label)
    ax.legend(fontsize="small", loc="lower right", framealpha=0.85, edgecolor="none")
    return ax
