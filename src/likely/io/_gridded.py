"""`GriddedPredictive`: densities tabulated on one shared grid, linear between the nodes.

This is how RAIL estimators such as FlexZBoost and pzflow store their PDFs
(qp's `interp` parameterization), so that likely's metrics can score them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from likely.distributions import Normal
from likely.models import Predictive


@dataclass(frozen=True)
class _Tabulated:
    """Float64 maths of piecewise-linear densities on a shared grid.

    `x` (G,) is the grid; `y` (n, G) the normalized density at the nodes;
    `c` (n, G) the CDF at the nodes (exact integral of the linear pieces).
    Values `v` broadcast against (n,): column j of `v` belongs to object j.
    """

    x: np.ndarray
    y: np.ndarray
    c: np.ndarray

    def take(self, rows: Any) -> _Tabulated:
        return _Tabulated(self.x, self.y[rows], self.c[rows])

    def _cells(self, v: Any) -> tuple[np.ndarray, tuple[int, ...], np.ndarray, np.ndarray]:
        """`v` as (m, n), its broadcast shape, the cell index of each value and the offset in it."""
        n = self.y.shape[0]
        v = np.asarray(v, dtype=np.float64)
        shape = np.broadcast_shapes(v.shape, (n,))
        flat = np.broadcast_to(v, shape).reshape(-1, n)
        cell = np.clip(np.searchsorted(self.x, flat, side="right") - 1, 0, self.x.size - 2)
        return flat, shape, cell, flat - self.x[cell]

    def _gather(self, table: np.ndarray, index: np.ndarray) -> np.ndarray:
        return table[np.arange(table.shape[0])[None, :], index]

    def cdf_and_pdf(self, v: Any) -> tuple[np.ndarray, np.ndarray]:
        flat, shape, cell, t = self._cells(v)
        h = self.x[cell + 1] - self.x[cell]
        ya, yb = self._gather(self.y, cell), self._gather(self.y, cell + 1)
        slope = (yb - ya) / h
        cdf = self._gather(self.c, cell) + t * (ya + 0.5 * slope * t)
        pdf = ya + slope * t
        below, above = flat < self.x[0], flat > self.x[-1]
        cdf = np.where(below, 0.0, np.where(above, 1.0, np.clip(cdf, 0.0, 1.0)))
        pdf = np.where(below | above, 0.0, np.maximum(pdf, 0.0))
        return cdf.reshape(shape), pdf.reshape(shape)

    def cdf(self, v: Any) -> np.ndarray:
        return self.cdf_and_pdf(v)[0]

    def pdf(self, v: Any) -> np.ndarray:
        return self.cdf_and_pdf(v)[1]

    def log_pdf(self, v: Any) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(self.pdf(v))

    def tabulate(self, nodes: np.ndarray) -> tuple[np.ndarray, ...]:
        """Quadrature nodes (G', n) plus the grid's, with one-sided densities at the grid ends.

        Inside the grid the density is continuous (kinks at the nodes, which
        the end-corrected trapezoid handles once they are nodes); at the two
        ends it jumps between 0 and the end values.
        """
        n = self.y.shape[0]
        grid = np.broadcast_to(self.x[:, None], (self.x.size, n))
        merged = np.sort(np.concatenate([nodes, grid], axis=0), axis=0)
        cdf, pdf = self.cdf_and_pdf(merged)
        left, right = pdf.copy(), pdf.copy()
        at_start, at_end = merged == self.x[0], merged == self.x[-1]
        left = np.where(at_start, 0.0, left)
        right = np.where(at_end, 0.0, right)
        left = np.where(at_end, self.y[None, :, -1], left)
        right = np.where(at_start, self.y[None, :, 0], right)
        return merged, cdf, left, right

    def quantile(self, q: np.ndarray) -> np.ndarray:
        """Inverse CDF per column of `q` (m, n): exact within the cell (a quadratic)."""
        n, g = self.y.shape
        rows = np.arange(n)[None, :]
        # One searchsorted for all objects: each object's CDF (in [0, 1]) offset by 2 i.
        flat = (self.c + 2.0 * np.arange(n)[:, None]).ravel()
        position = np.searchsorted(flat, (q + 2.0 * rows).ravel(), side="left").reshape(q.shape)
        cell = np.clip(position - rows * g - 1, 0, g - 2)
        ya, yb = self.y[rows, cell], self.y[rows, cell + 1]
        h = self.x[cell + 1] - self.x[cell]
        a = 0.5 * (yb - ya) / h
        r = np.maximum(q - self.c[rows, cell], 0.0)
        # a t^2 + ya t = r, in the form without cancellation when a ~ 0.
        root = np.sqrt(np.maximum(ya * ya + 4.0 * a * r, 0.0))
        denominator = ya + root
        t = np.where(denominator > 0, 2.0 * r / np.where(denominator > 0, denominator, 1.0), 0.0)
        value = self.x[cell] + np.clip(t, 0.0, h)
        first = self.x[np.argmax(self.c > 0, axis=1) - 1]  # where the mass starts
        return np.where(q <= 0.0, first[None, :], value)

    @property
    def moments(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance, exact for the piecewise-linear density."""
        a, b = self.x[:-1], self.x[1:]
        fa, fb = self.y[:, :-1], self.y[:, 1:]
        h = b - a
        mean = np.sum(h * (fa * (2 * a + b) + fb * (a + 2 * b)) / 6.0, axis=1)
        second = np.sum(
            h * (fa * (3 * a * a + 2 * a * b + b * b) + fb * (a * a + 2 * a * b + 3 * b * b)) / 12,
            axis=1,
        )
        return mean, np.maximum(second - mean * mean, 0.0)


class GriddedPredictive(Predictive):
    """Densities tabulated on one shared grid and linear between its nodes (qp's `interp`).

    The form in which grid-based photo-z codes (RAIL's FlexZBoost, pzflow)
    store their PDFs. Each row of `pdfs` is normalized to integrate to one by
    the trapezoid rule (as qp does); the density is zero outside the grid.
    Every method follows from that density:

    - `pdf(y)` (and `pdf_at`, `pdf_grid`): linear interpolation of the nodes
      (qp's `pdf`);
    - `cdf(y)`: its exact integral, quadratic within a cell (qp interpolates
      the nodes' CDF linearly instead: the two agree at the nodes and differ
      by at most h^2 |f'| / 8 in between, h the grid step);
    - `quantile(q)`: the exact inverse of that CDF; `sample` inverts it;
    - `mean`, `variance`: exact integrals of the linear pieces; `mode`: the
      highest node (a piecewise-linear density peaks at a node).

    `.distribution` is the normal with the same mean and standard deviation:
    something for code that needs a likely distribution (it places the
    quadrature nodes of `likely.metrics.crps`, to which the grid's nodes are
    added), not the predictive itself. There is no aleatoric/epistemic split.

    Args:
        grid: Strictly increasing 1-D grid of G >= 2 points.
        pdfs: Density values at the nodes, shape (n, G), finite and >= 0,
            each row with positive integral.

    Example:
        >>> import numpy as np
        >>> from likely.io import GriddedPredictive
        >>> grid = np.linspace(0.0, 2.0, 3)
        >>> p = GriddedPredictive(grid, [[0.0, 1.0, 0.0]])  # a triangle on [0, 2]
        >>> p.cdf([1.0]), p.mean, p.mode
        (array([0.5]), array([1.]), array([1.]))
        >>> np.round(p.quantile(0.125), 6)
        array([0.5])
    """

    def __init__(self, grid: Any, pdfs: Any) -> None:
        x, y = _check_table(grid, pdfs)
        h = np.diff(x)
        cumulative = np.concatenate(
            [np.zeros((y.shape[0], 1)), np.cumsum(0.5 * h * (y[:, 1:] + y[:, :-1]), axis=1)],
            axis=1,
        )
        total = cumulative[:, -1:]
        self._table = _Tabulated(x, y / total, cumulative / total)
        mean, variance = self._table.moments
        self._moments = mean, variance
        # A density on the grid spreads over a cell at least (std >= h / sqrt(24)).
        floor = 1e-3 * float(np.min(h))
        super().__init__(Normal(mean, np.maximum(np.sqrt(variance), floor)))

    def __repr__(self) -> str:
        return f"GriddedPredictive(n={len(self)}, grid={self.grid.size} points)"

    @property
    def grid(self) -> np.ndarray:
        """The grid, shape (G,)."""
        return self._table.x

    @property
    def pdfs(self) -> np.ndarray:
        """Normalized densities at the nodes, shape (n, G)."""
        return self._table.y

    def _float64_evaluator(self, rows: Any) -> _Tabulated:
        return self._table.take(rows)

    # -- summaries ----------------------------------------------------------------
    @property
    def mean(self) -> np.ndarray:
        return self._moments[0]

    @property
    def variance(self) -> np.ndarray:
        return self._moments[1]

    @cached_property
    def mode(self) -> np.ndarray:
        """The node of highest density (the first one, on ties)."""
        return self.grid[np.argmax(self.pdfs, axis=1)]

    @property
    def aleatoric_variance(self) -> np.ndarray:
        raise AttributeError(
            "A gridded predictive has no aleatoric/epistemic split: the grid holds the "
            "total predictive density only."
        )

    @property
    def epistemic_variance(self) -> np.ndarray:
        return self.aleatoric_variance

    def quantile(self, q: Any) -> np.ndarray:
        """Quantile(s) at probability `q` (a scalar, or an array broadcasting to the batch)."""
        q = np.asarray(q, dtype=np.float64)
        if np.isnan(q).any() or (q < 0).any() or (q > 1).any():
            raise ValueError(f"Argument `q` must hold probabilities in [0, 1]. Received: {q!r}")
        shape = np.broadcast_shapes(q.shape, (len(self),))
        flat = np.broadcast_to(q, shape).reshape(-1, len(self))
        return self._table.quantile(flat).reshape(shape)

    # -- densities (the row-wise `cdf`, `pdf`, `log_prob` and the grids build on these) --
    def cdf_at(self, values: Any) -> np.ndarray:
        """CDF at `values` broadcast against the batch shape (torch's convention)."""
        return self._table.cdf(_numeric_values(values))

    def pdf_at(self, values: Any) -> np.ndarray:
        """Density at `values` broadcast against the batch shape."""
        return self._table.pdf(_numeric_values(values))

    def log_prob_at(self, values: Any) -> np.ndarray:
        """Log density at `values` broadcast against the batch shape (-inf off the grid)."""
        return self._table.log_pdf(_numeric_values(values))

    def sample(self, n: int = 1, seed: int | None = None) -> np.ndarray:
        """`n` draws per object, shape (n, batch), by inverse-CDF sampling."""
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise ValueError(f"Argument `n` must be a positive integer. Received: n={n!r}")
        u = np.random.default_rng(seed).uniform(size=(int(n), len(self)))
        return self.quantile(u)


def _numeric_values(y: Any) -> np.ndarray:
    y = np.asarray(y)
    if not np.issubdtype(y.dtype, np.number):
        raise TypeError(f"Argument `y` must be numeric. Received dtype {y.dtype}.")
    return y.astype(np.float64)


def _check_table(grid: Any, pdfs: Any) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(grid, dtype=np.float64)
    y = np.asarray(pdfs, dtype=np.float64)
    if x.ndim != 1 or x.size < 2 or not np.isfinite(x).all() or (np.diff(x) <= 0).any():
        raise ValueError(
            "Argument `grid` must be a finite, strictly increasing 1-D array of at least 2 "
            f"points. Received: shape {x.shape}."
        )
    if y.ndim != 2 or y.shape[1] != x.size:
        raise ValueError(
            f"Argument `pdfs` must have shape (n, {x.size}): one row of density values on the "
            f"grid per object. Received: shape {y.shape}."
        )
    if not np.isfinite(y).all() or (y < 0).any():
        bad = ~np.isfinite(y).all(axis=1) | (y < 0).any(axis=1)
        raise ValueError(
            f"Argument `pdfs` must be finite and >= 0, but {int(bad.sum())} of its {y.shape[0]} "
            f"rows are not (first: row {int(np.argmax(bad))})."
        )
    mass = np.sum(0.5 * np.diff(x) * (y[:, 1:] + y[:, :-1]), axis=1)
    empty = mass <= 0
    if empty.any():
        raise ValueError(
            f"Argument `pdfs` must have a positive integral in every row, but {int(empty.sum())} "
            f"rows are zero everywhere (first: row {int(np.argmax(empty))})."
        )
    return x, y
