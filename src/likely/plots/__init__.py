"""Figures of training, predictive distributions, calibration and photo-z quality.

Every function draws with matplotlib's object-oriented API: pass `ax=` (or
`fig=` for `plot_pdf_grid`) to draw into your own figure, e.g. one made with
`plt.subplots()`; by default a new standalone `matplotlib.figure.Figure` is
made (no pyplot state, nothing global changed: save it with
`ax.figure.savefig(path)`). Functions return the Axes (an array of Axes for
`plot_pdf_grid`). matplotlib is imported when a function is called.

- `plot_history`: loss and validation loss per epoch.
- `plot_prediction_bands`, `plot_mdn_components`: predictive against a 1-D input.
- `plot_pit_histogram`, `plot_reliability`: calibration.
- `plot_zz`, `plot_pdf_grid`: photometric redshifts.
- `plot_classification_reliability`: the reliability diagram of a classifier.
- `plot_shift_score`: error against distance from the training sample.
"""

from likely.plots._calibration import plot_pit_histogram, plot_reliability
from likely.plots._classification import plot_classification_reliability
from likely.plots._photoz import plot_pdf_grid, plot_zz
from likely.plots._predictive import plot_mdn_components, plot_prediction_bands
from likely.plots._shift import plot_shift_score
from likely.plots._training import plot_history

__all__ = [
    "plot_classification_reliability",
    "plot_history",
    "plot_mdn_components",
    "plot_pdf_grid",
    "plot_pit_histogram",
    "plot_prediction_bands",
    "plot_reliability",
    "plot_shift_score",
    "plot_zz",
]
