"""Training curves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from likely.plots._axes import axes_or_new

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def plot_history(
    history: Any,
    keys: Sequence[str] | None = None,
    *,
    log_scale: bool = False,
    ax: Axes | None = None,
) -> Axes:
    """Plots training curves (loss and validation loss) per epoch.

    Args:
        history: A Keras `History` (what `model.fit` returns) or a mapping
            of metric names to per-epoch values, like `history.history`.
        keys: Curves to draw; default "loss" and "val_loss" when present,
            otherwise every key.
        log_scale: Use a logarithmic y axis (for positive losses).
        ax: Axes to draw into; default a new standalone figure.

    Returns:
        The matplotlib Axes.

    Example:
        >>> import likely
        >>> ax = likely.plots.plot_history({"loss": [3.0, 2.0, 1.5], "val_loss": [3.2, 2.4, 2.0]})
        >>> [line.get_label() for line in ax.get_lines()]
        ['loss', 'val_loss']
    """
    record = getattr(history, "history", history)
    if not isinstance(record, Mapping):
        raise TypeError(
            "Argument `history` must be a Keras History or a mapping of metric names to "
            f"per-epoch values. Received: {type(history).__name__}."
        )
    if keys is None:
        keys = [k for k in ("loss", "val_loss") if k in record] or list(record)
    missing = [k for k in keys if k not in record]
    if missing:
        raise ValueError(
            f"Argument `keys` names curves that `history` does not have: {missing}. "
            f"Available: {sorted(record)}."
        )
    ax = axes_or_new(ax, figsize=(5.5, 3.5))
    for key in keys:
        values = np.asarray(record[key], dtype=np.float64)
        ax.plot(np.arange(1, values.size + 1), values, label=key, lw=1.5)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss" if all("loss" in k for k in keys) else "value")
    if log_scale:
        ax.set_yscale("log")
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    return ax
