"""Photometric-redshift figures: z_pred against z_true, and a grid of individual PDFs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from likely.distributions import Distribution
from likely.metrics import _numeric, _photoz
from likely.models import Predictive
from likely.plots._axes import axes_or_new, new_figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def plot_zz(
    z_true: Any,
    z_pred: Any,
    *,
    point: str = "mode",
    gridsize: int = 80,
    zmax: float | None = None,
    colorbar: bool = True,
    ax: Axes | None = None,
) -> Axes:
    """Point photo-z against true redshift: a 2-D density with the outlier boundaries.

    A hexbin of (z_true, z_pred) on a log colour scale, the diagonal, and the
    boundaries `z_pred = z_true +- c (1 + z_true)` of the two outlier
    definitions of `likely.metrics.outlier_rate`: RAIL's
    `c = max(0.06, 3 sigma_IQR)` and the classic catastrophic `c = 0.15`.
    The legend gives bias, sigma_IQR and both outlier rates.

    Args:
        z_true: True redshifts, shape (n,).
        z_pred: Point estimates, shape (n,), or a predictive (its `point`
            estimate is used).
        point: "mode", "mean" or "median", when `z_pred` is a predictive.
        gridsize: Hexagons across the x axis.
        zmax: Upper limit of both axes; default the 99.9th percentile of the data.
        colorbar: Draw the colour bar of the counts beside `ax` (without it the log
            colour scale cannot be read).
        ax: Axes to draw into; default a new standalone figure.

    Returns:
        The matplotlib Axes.

    Example:
        >>> import numpy as np, likely
        >>> rng = np.random.default_rng(0)
        >>> z = rng.uniform(0, 3, 2000)
        >>> ax = likely.plots.plot_zz(z, z + 0.03 * (1 + z) * rng.normal(size=2000))
        >>> [line.get_label() for line in ax.get_lines() if line.get_label()[0] != "_"]
        ['RAIL outliers: |ez| > 0.090', 'catastrophic: |ez| > 0.15']
    """
    if isinstance(z_pred, Predictive | Distribution):
        z_pred = _photoz.point_estimate(z_pred, point)
    z, zp = _photoz._redshifts(z_true, z_pred)
    e = (zp - z) / (1 + z)
    ax = axes_or_new(ax, figsize=(5.2, 4.6))
    top = float(zmax) if zmax is not None else float(np.percentile(np.r_[z, zp], 99.9)) * 1.02
    low = min(0.0, float(np.min(z)))
    hexes = ax.hexbin(
        z,
        zp,
        gridsize=gridsize,
        bins="log",
        mincnt=1,
        cmap="viridis",
        extent=(low, top, low, top),
        linewidths=0,
    )
    if colorbar:
        ax.figure.colorbar(hexes, ax=ax, label="objects per cell", shrink=0.85)
    line = np.linspace(low, top, 200)
    ax.plot(line, line, color="k", lw=1)
    rail = _photoz.outlier_threshold(z, zp)
    for c, style, name in (
        (rail, "--", f"RAIL outliers: |ez| > {rail:.3f}"),
        (_photoz.CATASTROPHIC_THRESHOLD, ":", "catastrophic: |ez| > 0.15"),
    ):
        ax.plot(line, line + c * (1 + line), color="C3", ls=style, lw=1.2, label=name)
        ax.plot(line, line - c * (1 + line), color="C3", ls=style, lw=1.2)
    q75, q25 = np.percentile(e, [75, 25])
    summary = (
        f"n = {z.size}\nbias = {np.median(e):+.4f}\n"
        f"$\\sigma_{{IQR}}$ = {(q75 - q25) / 1.349:.4f}\n"
        f"RAIL outliers = {np.mean(np.abs(e) > rail):.2%}\n"
        f"|ez| > 0.15: {np.mean(np.abs(e) > 0.15):.2%}"
    )
    ax.text(
        0.03,
        0.97,
        summary,
        transform=ax.transAxes,
        va="top",
        fontsize="small",
        bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none"},
    )
    ax.set_xlim(low, top)
    ax.set_ylim(low, top)
    ax.set_aspect("equal")
    ax.set_xlabel(r"$z_{\rm true}$")
    ax.set_ylabel(r"$z_{\rm pred}$" + (f" ({point})" if isinstance(point, str) else ""))
    ax.legend(fontsize="small", loc="lower right", framealpha=0.85, edgecolor="none")
    return ax


def plot_pdf_grid(
    y_true: Any,
    predictive: Any,
    *,
    indices: Any = None,
    count: int = 9,
    ncols: int = 3,
    grid: Any = None,
    seed: int = 0,
    fig: Figure | None = None,
) -> np.ndarray:
    """A grid of individual predictive densities, each with its true value marked.

    Args:
        y_true: True values (e.g. redshifts), shape (n,).
        predictive: A `likely.Predictive` (batch shape (n,)) or a likely distribution.
        indices: Objects to show; default `count` objects drawn at random
            (with `seed`), shown in index order.
        count: Number of objects when `indices` is None.
        ncols: Panels per row.
        grid: Common evaluation grid; default, per panel, the range from the
            0.1% to the 99.9% quantile widened to include the truth.
        seed: Seed of the random choice of objects.
        fig: Figure to draw into; default a new standalone figure.

    Returns:
        A 2-D NumPy array of Axes, `(nrows, ncols)` as `plt.subplots` gives
        (panels beyond the number of objects are switched off); the figure is
        `axes.flat[0].figure`.

    Example:
        >>> import numpy as np, likely
        >>> p = likely.Predictive(likely.distributions.Normal(np.arange(10.0), np.ones(10)))
        >>> axes = likely.plots.plot_pdf_grid(np.arange(10.0) + 0.5, p, indices=[1, 4, 7, 9])
        >>> axes.shape, axes[1, 2].axison
        ((2, 3), False)
    """
    p = _numeric.as_predictive(predictive)
    n = _numeric.check_scalar_batch(p)
    y = _numeric.check_y_true(y_true, n)
    if indices is None:
        if isinstance(count, bool) or not isinstance(count, int | np.integer) or count < 1:
            raise ValueError(f"Argument `count` must be a positive integer. Received: {count!r}.")
        rng = np.random.default_rng(seed)
        indices = np.sort(rng.choice(n, size=min(int(count), n), replace=False))
    indices = np.asarray(indices, dtype=np.int64).ravel()
    if indices.size == 0 or (indices < 0).any() or (indices >= n).any():
        raise ValueError(
            f"Argument `indices` must hold between 1 and {n} object indices in [0, {n}). "
            f"Received: {indices.tolist()[:10]}."
        )
    if isinstance(ncols, bool) or not isinstance(ncols, int | np.integer) or ncols < 1:
        raise ValueError(f"Argument `ncols` must be a positive integer. Received: {ncols!r}.")
    ncols = int(min(ncols, indices.size))
    nrows = -(-indices.size // ncols)
    fig = fig if fig is not None else new_figure((2.4 * ncols, 1.9 * nrows))
    axes = np.atleast_2d(fig.subplots(nrows, ncols, squeeze=False))
    table_x = _panel_grids(p, y, indices, grid)  # (G, m)
    evaluator = _numeric.evaluator_of(p, indices)
    if evaluator is None:  # a predictive without a float64 evaluator: its own pdf on all
        dens = _full_pdf(p, table_x, indices, n)
    else:
        dens = evaluator.pdf(table_x)
    for panel, ax in enumerate(axes.flat):
        if panel >= indices.size:
            ax.set_axis_off()
            continue
        i = indices[panel]
        ax.plot(table_x[:, panel], dens[:, panel], color="C0", lw=1.5)
        ax.fill_between(table_x[:, panel], 0, dens[:, panel], color="C0", alpha=0.2, lw=0)
        ax.axvline(y[i], color="C3", ls="--", lw=1.2, label="truth")
        ax.set_title(f"object {i}", fontsize="small")
        ax.set_ylim(bottom=0)
        ax.tick_params(labelsize="small")
        ax.locator_params(axis="both", nbins=4)
    axes.flat[0].legend(frameon=False, fontsize="small")
    fig.supylabel("predictive density", fontsize="small")
    return axes


def _panel_grids(p: Predictive, y: np.ndarray, indices: np.ndarray, grid: Any) -> np.ndarray:
    """Evaluation grid per panel, shape (G, m)."""
    if grid is not None:
        g = np.asarray(grid, dtype=np.float64)
        if g.ndim != 1 or g.size < 2:
            raise ValueError(f"Argument `grid` must be a 1-D array. Received: shape {g.shape}.")
        return np.broadcast_to(g[:, None], (g.size, indices.size))
    bounds = np.asarray(p.quantile(np.array([[0.001], [0.999]])), dtype=np.float64)[:, indices]
    lo = np.minimum(bounds[0], y[indices])
    hi = np.maximum(bounds[1], y[indices])
    pad = 0.05 * (hi - lo)
    return np.linspace(lo - pad, hi + pad, 400)


def _full_pdf(p: Predictive, table_x: np.ndarray, indices: np.ndarray, n: int) -> np.ndarray:
    full = np.zeros((table_x.shape[0], n))
    full[:, indices] = table_x
    return np.asarray(p.pdf_at(full), dtype=np.float64)[:, indices]
