"""Calibration diagnostics: PIT histogram and reliability diagram."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from likely.metrics import _calibration_metrics as cal
from likely.plots._axes import axes_or_new

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def plot_pit_histogram(
    y_true: Any,
    predictive: Any,
    *,
    bins: int = 20,
    label: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Histogram of PIT values, with the uniform expectation and its 95% sampling band.

    A calibrated predictive gives a flat histogram at density 1; with n
    objects each bin's count is Binomial(n, 1/bins), and the shaded band
    holds 95% of such histograms' bins. U shape: too narrow; hump: too wide;
    slope: biased. The KS distance is printed in the corner.

    Args:
        y_true: True values, shape (n,).
        predictive: A `likely.Predictive` (batch shape (n,)) or a likely distribution.
        bins: Number of equal bins on [0, 1].
        label: Legend label of the histogram (e.g. the model's name); default "PIT".
        ax: Axes to draw into; default a new standalone figure.

    Returns:
        The matplotlib Axes.

    Example:
        >>> import numpy as np, likely
        >>> rng = np.random.default_rng(0)
        >>> p = likely.Predictive(likely.distributions.Normal(np.zeros(1000), np.ones(1000)))
        >>> ax = likely.plots.plot_pit_histogram(rng.normal(size=1000), p, bins=10)
        >>> len(ax.containers[0])  # the histogram's bars
        10
    """
    if isinstance(bins, bool) or not isinstance(bins, int | np.integer) or bins < 2:
        raise ValueError(f"Argument `bins` must be an integer >= 2. Received: bins={bins!r}.")
    u = cal.pit(y_true, predictive)
    n = u.size
    ax = axes_or_new(ax, figsize=(5, 3.5))
    edges = np.linspace(0.0, 1.0, bins + 1)
    scale = bins / n  # count -> density
    low, high = stats.binom.ppf([0.025, 0.975], n, 1.0 / bins) * scale
    heights, _, _ = ax.hist(
        u, bins=edges, density=True, color="C0", alpha=0.35, lw=0, label=label or "PIT"
    )
    # The band goes over the bars, hatched and outlined, so that it reads across
    # them; the bars' outline goes over the band, so that each bar's top reads too.
    ax.axhspan(
        low,
        high,
        facecolor="none",
        edgecolor="0.45",
        hatch="////",
        lw=0.8,
        zorder=3,
        label="95% band if calibrated",
    )
    ax.stairs(heights, edges, color="C0", lw=1.5, zorder=5)
    ax.axhline(1.0, color="k", lw=1, ls="--", zorder=4, label="uniform")
    ks = cal.uniformity_tests(u)["ks"]
    ax.text(
        0.02, 0.97, f"KS = {ks:.3f}\nn = {n}", transform=ax.transAxes, va="top", fontsize="small"
    )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.3 * max(float(np.max(heights)), high))  # room for the legend
    ax.set_xlabel("PIT")
    ax.set_ylabel("density")
    ax.legend(frameon=False, fontsize="small", loc="upper right")
    return ax


def plot_reliability(
    y_true: Any,
    predictive: Any,
    *,
    levels: Any = None,
    kind: str = "interval",
    label: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Reliability diagram: observed against nominal coverage, with the ideal diagonal.

    Points above the diagonal are under-confident (intervals too wide),
    below it over-confident. The grey band is the 95% binomial range of a
    calibrated predictive with the same n. Call it again on the same `ax`
    with another predictive (e.g. after recalibration) to compare.

    Args:
        y_true: True values, shape (n,).
        predictive: A `likely.Predictive` (batch shape (n,)) or a likely distribution.
        levels: Nominal levels in (0, 1); default 0.01, ..., 0.99.
        kind: "interval" (coverage of central intervals) or "quantile"
            (fraction below each quantile); see `likely.metrics.calibration_curve`.
        label: Legend label; default shows the mean absolute calibration error.
        ax: Axes to draw into; default a new standalone figure.

    Returns:
        The matplotlib Axes.

    Example:
        >>> import numpy as np, likely
        >>> rng = np.random.default_rng(0)
        >>> p = likely.Predictive(likely.distributions.Normal(np.zeros(500), np.ones(500)))
        >>> ax = likely.plots.plot_reliability(rng.normal(size=500), p)
        >>> [line.get_label() for line in ax.get_lines()]
        ['ideal', 'calibration error 0.012']
    """
    nominal, observed = cal.calibration_curve(y_true, predictive, levels, kind=kind)
    n = cal.pit(y_true, predictive).size
    ax = axes_or_new(ax, figsize=(4.2, 4.2))
    if not any(line.get_label() == "ideal" for line in ax.get_lines()):
        grid = np.linspace(0.0, 1.0, 201)
        half = 1.96 * np.sqrt(grid * (1 - grid) / n)
        ax.fill_between(grid, grid - half, grid + half, color="0.85", lw=0)
        ax.plot([0, 1], [0, 1], color="0.3", lw=1, ls="--", label="ideal")
    error = float(np.mean(np.abs(observed - nominal)))
    text = f"calibration error {error:.3f}"
    ax.plot(nominal, observed, lw=2, label=f"{label}: {text}" if label else text)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    what = "central interval" if kind == "interval" else "quantile level"
    ax.set_xlabel(f"nominal {what}")
    ax.set_ylabel("observed frequency")
    ax.legend(frameon=False, fontsize="small", loc="upper left")
    return ax
