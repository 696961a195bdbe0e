"""Predictive distributions against a 1-D input: bands, samples, mixture components."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from likely.metrics import _numeric
from likely.plots._axes import axes_or_new, inputs_1d

if TYPE_CHECKING:
    from matplotlib.axes import Axes

_BANDS = ("stddev", "interval")


def plot_prediction_bands(
    x: Any,
    predictive: Any,
    y: Any = None,
    *,
    band: str = "stddev",
    n_samples: int = 0,
    seed: int | None = 0,
    ax: Axes | None = None,
) -> Axes:
    """Predictive mean with 1 and 2 sigma bands against a 1-D input.

    Args:
        x: Inputs, shape (n,) or (n, 1) (one scalar per object, any order).
        predictive: A `likely.Predictive` (batch shape (n,)) or a likely distribution.
        y: Optional observed values, shape (n,), drawn as points.
        band: "stddev" (mean +- 1 and 2 standard deviations, as in the
            lecture) or "interval" (central 68% and 95% intervals, which
            follow skewed or multimodal predictives).
        n_samples: Draws per object from the predictive to scatter (0: none).
        seed: Seed of those draws.
        ax: Axes to draw into; default a new standalone figure.

    Returns:
        The matplotlib Axes.

    Example:
        >>> import numpy as np, likely
        >>> x = np.linspace(-1, 1, 50)
        >>> p = likely.Predictive(likely.distributions.Normal(np.sin(3 * x), 0.1 + 0.2 * np.abs(x)))
        >>> ax = likely.plots.plot_prediction_bands(x, p, band="interval")
        >>> len(ax.collections)  # the two bands
        2
    """
    if band not in _BANDS:
        raise ValueError(f"Argument `band` must be one of {_BANDS}. Received: {band!r}.")
    p = _numeric.as_predictive(predictive)
    n = _numeric.check_scalar_batch(p)
    x = inputs_1d(x, n)
    order = np.argsort(x, kind="stable")
    xs = x[order]
    ax = axes_or_new(ax, figsize=(6, 4))
    mean = _numeric.mean_of(p)[order]
    if band == "stddev":
        sd = np.sqrt(_numeric.variance_of(p))[order]
        bands = [
            (mean - 2 * sd, mean + 2 * sd, r"$\pm 2\sigma$"),
            (mean - sd, mean + sd, r"$\pm 1\sigma$"),
        ]
    else:
        q = np.asarray(p.quantile(np.array([[0.025], [0.16], [0.84], [0.975]])))[:, order]
        bands = [(q[0], q[3], "95% interval"), (q[1], q[2], "68% interval")]
    for (lower, upper, label), alpha in zip(bands, (0.18, 0.32), strict=True):
        ax.fill_between(xs, lower, upper, color="C0", alpha=alpha, lw=0, label=label)
    ax.plot(xs, mean, color="C0", lw=2, label="predictive mean")
    if n_samples:
        draws = np.asarray(p.sample(int(n_samples), seed=seed))  # (S, n)
        ax.scatter(
            np.broadcast_to(x, draws.shape).ravel(),
            draws.ravel(),
            s=5,
            color="C1",
            alpha=0.5,
            lw=0,
            label=f"{n_samples} draws per x",
        )
    if y is not None:
        y = _numeric.check_y_true(y, n, name="y")
        ax.scatter(x, y, s=9, color="k", alpha=0.7, lw=0, label="data")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    # Above the axes: inside, a legend hides the bands where the data are.
    ax.legend(
        frameon=False,
        fontsize="small",
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
        ncols=3,
    )
    return ax


def plot_mdn_components(
    x: Any,
    predictive: Any,
    y: Any = None,
    *,
    ax: Axes | None = None,
) -> Axes:
    """Each mixture component's location and +-1 sigma band against a 1-D input.

    Line width and opacity follow the component's weight at each x, so one
    sees where each component matters (the classic mixture-density-network
    picture, Bishop 1994). A `Normal` predictive shows as a single component.

    Args:
        x: Inputs, shape (n,) or (n, 1).
        predictive: A `likely.Predictive` (batch shape (n,), scalar events)
            or a likely distribution; a recalibrated predictive shows its
            base components.
        y: Optional observed values, shape (n,), drawn as points.
        ax: Axes to draw into; default a new standalone figure.

    Returns:
        The matplotlib Axes.

    Example:
        >>> import numpy as np, likely
        >>> x = np.linspace(-1, 1, 40)
        >>> logits, loc = np.stack([4 * x, -4 * x], 1), np.stack([x, -x], 1)
        >>> d = likely.distributions.MixtureNormal(logits, loc, np.full((40, 2), 0.1))
        >>> ax = likely.plots.plot_mdn_components(x, d)
        >>> [c.get_label() for c in ax.collections[::2]]
        ['component 1', 'component 2']
    """
    from matplotlib.collections import LineCollection
    from matplotlib.colors import to_rgb
    from matplotlib.lines import Line2D

    p = _numeric.as_predictive(predictive)
    n = _numeric.check_scalar_batch(p)
    x = inputs_1d(x, n)
    order = np.argsort(x, kind="stable")
    xs = x[order]
    mixture = _numeric.mixture_of(p.distribution).take(order)
    weights = mixture.weights
    ax = axes_or_new(ax, figsize=(6, 4))
    handles = []
    for k in range(mixture.num_components):
        color = f"C{k % 10}"
        loc, scale, w = mixture.loc[:, k], mixture.scale[:, k], weights[:, k]
        points = np.stack([xs, loc], axis=1)
        segments = np.stack([points[:-1], points[1:]], axis=1)
        w_mid = 0.5 * (w[:-1] + w[1:]) if n > 1 else w
        # Opaque colours faded towards white (not transparency), so that the
        # round-capped segments join without beads where they overlap.
        strength = 0.15 + 0.85 * w_mid[:, None]
        colors = strength * np.asarray(to_rgb(color)) + (1.0 - strength)
        lines = LineCollection(
            segments,
            colors=colors,
            linewidths=0.5 + 3.0 * w_mid,
            capstyle="round",
            label=f"component {k + 1}",
        )
        ax.add_collection(lines)
        ax.fill_between(xs, loc - scale, loc + scale, color=color, alpha=0.12, lw=0)
        handles.append(Line2D([], [], color=color, lw=2.5, label=f"component {k + 1}"))
    if y is not None:
        y = _numeric.check_y_true(y, n, name="y")
        handles.append(ax.scatter(x, y, s=9, color="k", alpha=0.6, lw=0, label="data"))
    ax.autoscale_view()
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.legend(handles=handles, frameon=False, fontsize="small")
    return ax
