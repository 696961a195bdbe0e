"""Shared plotting helpers: new standalone figures, input checks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def new_figure(figsize: tuple[float, float] | None = None) -> Figure:
    """A standalone `matplotlib.figure.Figure`: no pyplot state, no global style change.

    Save it with `fig.savefig(path)`; in a notebook, display it by leaving
    `ax.figure` (or the figure) as the last expression of a cell.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as error:  # pragma: no cover - matplotlib is a dependency
        raise ImportError(
            "likely.plots needs matplotlib: pip install 'matplotlib>=3.8'."
        ) from error
    return Figure(figsize=figsize, layout="constrained")


def axes_or_new(ax: Axes | None, figsize: tuple[float, float] | None = None) -> Axes:
    """`ax` itself, or the single Axes of a new standalone figure."""
    if ax is not None:
        if not hasattr(ax, "plot") or not hasattr(ax, "figure"):
            raise TypeError(
                f"Argument `ax` must be a matplotlib Axes or None. Received: {type(ax).__name__}."
            )
        return ax
    return new_figure(figsize).add_subplot()


def inputs_1d(x: Any, n: int, name: str = "x") -> np.ndarray:
    """A 1-D float array of length n from (n,) or (n, 1) input."""
    values = np.asarray(x, dtype=np.float64)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1 or values.shape[0] != n:
        raise ValueError(
            f"Argument `{name}` must be one scalar input per object, shape ({n},) or ({n}, 1). "
            f"Received: shape {np.shape(x)}. Prediction bands need a 1-D input."
        )
    return values
