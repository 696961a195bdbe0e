"""Float64 NumPy machinery shared by metrics, calibration and plots.

Metrics need more than a `Predictive` gives cheaply: double precision in the
tails, densities on a grid for 20,000 objects with 20 components, and
integrals (CRPS, moments) of predictives that have no closed form (a
recalibrated one). This module provides:

- argument checks (`as_predictive`, `check_y_true`, `check_level`);
- `ScalarMixture`: the parameters of a scalar-event Normal or MixtureNormal as
  float64 arrays `(n, K)`, with chunked `cdf`, `pdf`, `log_pdf`;
- `cdf_of`, `pdf_of`, `log_pdf_of`: the fast float64 path for normal
  families, the distribution's own methods for any other family (in Keras'
  float dtype, returned as float64), a predictive's overridden methods
  otherwise;
- quadrature on per-object nodes placed on every component (`nodes_of`; for
  other families on a ladder of the object's own quantiles), integrated with
  the end-corrected trapezoid rule, which uses the density as the derivative
  of the CDF and is fourth-order accurate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from keras import ops
from scipy.special import log_softmax, logsumexp, ndtr

from likely.distributions import Distribution, MixtureNormal, Normal
from likely.models import Predictive

_CHUNK_ELEMENTS = 2**21
"""Rows are processed so that one float64 temporary stays below ~16 MB."""

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)

_NODE_SPAN = 6.0
"""Quadrature nodes cover every component's loc +- 6 scale (tail mass < 1e-9)."""


def as_predictive(predictive: Any, name: str = "predictive") -> Predictive:
    """A `Predictive` from a `Predictive` or a likely distribution; TypeError otherwise."""
    if isinstance(predictive, Predictive):
        return predictive
    if isinstance(predictive, Distribution):
        return Predictive(predictive)
    hint = ""
    if isinstance(predictive, np.ndarray | list | tuple | float | int):
        hint = " Arguments follow Keras' order: (y_true, predictive)."
    raise TypeError(
        f"Argument `{name}` must be a likely.Predictive or a likely distribution "
        f"(likely.distributions.Distribution). Received: {type(predictive).__name__}.{hint}"
    )


def check_continuous(predictive: Predictive, name: str = "predictive") -> None:
    """Scores of continuous predictives refuse discrete ones (classification has its own)."""
    if predictive.support.discrete:
        raise TypeError(
            f"Argument `{name}` is discrete ({predictive.distribution!r}): use the "
            "classification scores (likely.metrics.log_loss, brier_score, "
            "expected_calibration_error)."
        )


def check_scalar_batch(predictive: Predictive, name: str = "predictive") -> int:
    """Number of objects n of a predictive with batch shape (n,) and scalar events."""
    if predictive.event_shape != ():
        raise ValueError(
            f"Argument `{name}` must have scalar events (event_shape == ()); metrics, "
            f"calibration and plots are per target. Received: event_shape "
            f"{predictive.event_shape}. Score each output dimension separately."
        )
    if len(predictive.batch_shape) != 1:
        raise ValueError(
            f"Argument `{name}` must have a batch shape (n,), one distribution per object. "
            f"Received: batch_shape {predictive.batch_shape}."
        )
    return int(predictive.batch_shape[0])


def check_y_true(y_true: Any, n: int | None = None, name: str = "y_true") -> np.ndarray:
    """`y_true` as a finite float64 array of shape (n,); (n, 1) is flattened."""
    y = np.asarray(y_true)
    if not np.issubdtype(y.dtype, np.number) or np.issubdtype(y.dtype, np.complexfloating):
        raise TypeError(f"Argument `{name}` must be real numbers. Received dtype {y.dtype}.")
    y = y.astype(np.float64)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or (n is not None and y.shape[0] != n):
        expected = "(n,)" if n is None else f"({n},) (one value per object)"
        raise ValueError(
            f"Argument `{name}` must have shape {expected}. Received: shape {np.shape(y_true)}."
        )
    if not np.isfinite(y).all():
        raise ValueError(
            f"Argument `{name}` must be finite, but {int((~np.isfinite(y)).sum())} of its "
            f"{y.size} values are NaN or infinite."
        )
    return y


def check_labels(y_true: Any, n: int, classes: int) -> np.ndarray:
    """Class labels (n,) in 0..classes-1 from labels (n,), (n, 1) or one-hot rows (n, C)."""
    y = np.asarray(y_true)
    if y.ndim == 2 and y.shape[1] == classes and classes > 1 and y.shape[0] == n:
        if not np.allclose(y.sum(axis=1), 1.0) or ((y != 0) & (y != 1)).any():
            raise ValueError("Argument `y_true` of shape (n, C) must be one-hot rows.")
        return np.argmax(y, axis=1)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.shape != (n,) or not np.all(np.isin(y, np.arange(classes))):
        raise ValueError(
            f"Argument `y_true` must hold one label in 0..{classes - 1} per object, shape "
            f"({n},) (or one-hot ({n}, {classes})). Received: shape {np.shape(y_true)}."
        )
    return y.astype(np.int64)


def check_level(level: Any, name: str = "level") -> float:
    """A probability strictly between 0 and 1, as a float."""
    try:
        value = float(level)
    except (TypeError, ValueError):
        raise TypeError(
            f"Argument `{name}` must be a number in (0, 1). Received: {level!r}."
        ) from None
    if not 0.0 < value < 1.0:
        raise ValueError(f"Argument `{name}` must be in (0, 1). Received: {name}={level!r}.")
    return value


def check_levels(levels: Any, name: str = "levels") -> np.ndarray:
    """A 1-D array of probabilities strictly between 0 and 1."""
    values = np.atleast_1d(np.asarray(levels, dtype=np.float64))
    if values.ndim != 1 or values.size == 0 or not ((values > 0) & (values < 1)).all():
        raise ValueError(
            f"Argument `{name}` must be a non-empty 1-D sequence of probabilities in (0, 1). "
            f"Received: {levels!r}."
        )
    return values


def check_positive_count(value: Any, name: str) -> int:
    """A positive integer count, or a ValueError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"Argument `{name}` must be a positive integer. Received: {value!r}")
    return int(value)


def reduce(values: np.ndarray, reduction: str) -> Any:
    """Applies a Keras-style reduction: 'mean' and 'sum' give a float, 'none' the array."""
    if reduction == "mean":
        return float(np.mean(values))
    if reduction == "sum":
        return float(np.sum(values))
    if reduction == "none":
        return values
    raise ValueError(
        f"Argument `reduction` must be 'mean', 'sum' or 'none'. Received: {reduction!r}."
    )


# -- float64 evaluators ------------------------------------------------------------
class Evaluator(Protocol):
    """What the numerics need from a predictive over n objects, in float64.

    Each method takes `y` broadcasting against (n,) (e.g. (n,) or (G, n)).
    """

    def cdf(self, y: Any) -> np.ndarray: ...

    def sf(self, y: Any) -> np.ndarray:
        """The survival function 1 - F(y), accurate where F is near 1."""
        ...

    def pdf(self, y: Any) -> np.ndarray: ...

    def log_pdf(self, y: Any) -> np.ndarray: ...

    def cdf_and_pdf(self, y: Any) -> tuple[np.ndarray, np.ndarray]: ...


def _rows_of(y: Any, n: int) -> tuple[np.ndarray, tuple[int, ...]]:
    """`y` broadcast to (..., n) and flattened to (m, n), with the broadcast shape."""
    y = np.asarray(y, dtype=np.float64)
    shape = np.broadcast_shapes(y.shape, (n,))
    return np.broadcast_to(y, shape).reshape(-1, n), shape


@dataclass(frozen=True)
class ScalarMixture:
    """A scalar normal mixture as float64 arrays `log_weights`, `loc`, `scale` of shape (n, K).

    Evaluations are chunked so temporaries (m, n, K) stay small.
    """

    log_weights: np.ndarray
    loc: np.ndarray
    scale: np.ndarray

    @property
    def weights(self) -> np.ndarray:
        return np.exp(self.log_weights)

    @property
    def num_components(self) -> int:
        return int(self.loc.shape[1])

    def __len__(self) -> int:
        return int(self.loc.shape[0])

    def take(self, rows: Any) -> ScalarMixture:
        return ScalarMixture(self.log_weights[rows], self.loc[rows], self.scale[rows])

    @property
    def mean(self) -> np.ndarray:
        return np.sum(self.weights * self.loc, axis=1)

    @property
    def variance(self) -> np.ndarray:
        dev = self.loc - self.mean[:, None]
        return np.sum(self.weights * (self.scale**2 + dev**2), axis=1)

    def _evaluate(self, y: Any, kernel: Any, outputs: int) -> list[np.ndarray]:
        flat, shape = _rows_of(y, len(self))
        results = [np.empty(flat.shape) for _ in range(outputs)]
        step = max(1, _CHUNK_ELEMENTS // max(1, self.loc.size))
        for start in range(0, flat.shape[0], step):
            z = (flat[start : start + step, :, None] - self.loc) / self.scale  # (m, n, K)
            for result, value in zip(results, kernel(z), strict=True):
                result[start : start + step] = value
        return [result.reshape(shape) for result in results]

    def cdf(self, y: Any) -> np.ndarray:
        w = self.weights
        return self._evaluate(y, lambda z: [np.sum(w * ndtr(z), axis=-1)], 1)[0]

    def sf(self, y: Any) -> np.ndarray:
        w = self.weights
        return self._evaluate(y, lambda z: [np.sum(w * ndtr(-z), axis=-1)], 1)[0]

    def pdf(self, y: Any) -> np.ndarray:
        c = self.weights * _INV_SQRT_2PI / self.scale
        return self._evaluate(y, lambda z: [np.sum(c * np.exp(-0.5 * z * z), axis=-1)], 1)[0]

    def log_pdf(self, y: Any) -> np.ndarray:
        c = self.log_weights - np.log(self.scale) - _LOG_SQRT_2PI
        return self._evaluate(y, lambda z: [logsumexp(c - 0.5 * z * z, axis=-1)], 1)[0]

    def cdf_and_pdf(self, y: Any) -> tuple[np.ndarray, np.ndarray]:
        w = self.weights
        c = w * _INV_SQRT_2PI / self.scale

        def kernel(z: np.ndarray) -> list[np.ndarray]:
            return [np.sum(w * ndtr(z), axis=-1), np.sum(c * np.exp(-0.5 * z * z), axis=-1)]

        cdf, pdf = self._evaluate(y, kernel, 2)
        return cdf, pdf


@dataclass(frozen=True)
class _MethodEvaluator:
    """Falls back on a predictive's (or distribution's) own methods, broadcasting like torch."""

    predictive: Any

    def cdf(self, y: Any) -> np.ndarray:
        return np.asarray(self.predictive.cdf_at(y), dtype=np.float64)

    def sf(self, y: Any) -> np.ndarray:
        survival = getattr(self.predictive, "sf_at", None)
        return 1.0 - self.cdf(y) if survival is None else np.asarray(survival(y), np.float64)

    def pdf(self, y: Any) -> np.ndarray:
        return np.asarray(self.predictive.pdf_at(y), dtype=np.float64)

    def log_pdf(self, y: Any) -> np.ndarray:
        return np.asarray(self.predictive.log_prob_at(y), dtype=np.float64)

    def cdf_and_pdf(self, y: Any) -> tuple[np.ndarray, np.ndarray]:
        return self.cdf(y), self.pdf(y)


def is_normal_family(distribution: Distribution) -> bool:
    """Scalar normals and normal mixtures, which have the float64 `ScalarMixture` path."""
    return isinstance(distribution, Normal | MixtureNormal) and distribution.event_shape == ()


def mixture_of(distribution: Distribution) -> ScalarMixture:
    """The float64 parameters of a scalar Normal / MixtureNormal with batch shape (n,)."""
    if not is_normal_family(distribution):
        raise TypeError(f"Expected a scalar Normal or MixtureNormal. Received: {distribution!r}.")
    if isinstance(distribution, Normal):
        loc = np.asarray(ops.convert_to_numpy(distribution.mean), dtype=np.float64)
        scale = np.asarray(ops.convert_to_numpy(distribution.stddev), dtype=np.float64)
        return ScalarMixture(np.zeros_like(loc)[:, None], loc[:, None], scale[:, None])
    logits = np.asarray(ops.convert_to_numpy(distribution.logits), dtype=np.float64)
    loc = np.asarray(ops.convert_to_numpy(distribution.loc), dtype=np.float64)[..., 0]
    scale = np.asarray(ops.convert_to_numpy(distribution.scale), dtype=np.float64)[..., 0]
    shape = tuple(distribution.batch_shape) + (distribution.num_components,)
    log_w = log_softmax(np.broadcast_to(logits, shape), axis=-1)
    return ScalarMixture(log_w, np.broadcast_to(loc, shape), np.broadcast_to(scale, shape))


def is_plain(predictive: Predictive) -> bool:
    """Whether a predictive evaluates its distribution's own formulas (not a subclass's)."""
    cls = type(predictive)
    return cls.cdf_at is Predictive.cdf_at and cls.log_prob_at is Predictive.log_prob_at


def evaluator_of(predictive: Predictive, rows: Any = slice(None)) -> Evaluator | None:
    """A float64 evaluator for `predictive`, restricted to `rows` (a slice or indices).

    Plain predictives of normal families use their formulas in float64,
    those of other families their distribution's methods (on those rows); a
    subclass may define `_float64_evaluator(rows)`; any other subclass falls
    back on its `*_at` methods, for all rows only (returns None for a proper
    subset).
    """
    if is_plain(predictive):
        if is_normal_family(predictive.distribution):
            return mixture_of(predictive.distribution).take(rows)
        whole = isinstance(rows, slice) and rows == slice(None)
        part = predictive.distribution if whole else predictive.distribution.take(rows)
        return _MethodEvaluator(Predictive(part))
    own = getattr(predictive, "_float64_evaluator", None)
    if own is not None:
        return own(rows)
    whole = isinstance(rows, slice) and rows == slice(None)
    return _MethodEvaluator(predictive) if whole else None


def row_chunks(predictive: Predictive, n: int, per_row: int) -> list[slice]:
    """Slices of objects so that (per_row, chunk) temporaries stay near 16 MB."""
    if evaluator_of(predictive, slice(0, 1)) is None:
        return [slice(None)]
    step = max(1, _CHUNK_ELEMENTS // max(1, per_row))
    return [slice(start, start + step) for start in range(0, n, step)]


def cdf_of(predictive: Predictive, y: Any) -> np.ndarray:
    """CDF at `y` (broadcast against the batch) in float64 where the maths is known."""
    return evaluator_of(predictive).cdf(y)


def pdf_of(predictive: Predictive, y: Any) -> np.ndarray:
    return evaluator_of(predictive).pdf(y)


def log_pdf_of(predictive: Predictive, y: Any) -> np.ndarray:
    return evaluator_of(predictive).log_pdf(y)


# -- quadrature -------------------------------------------------------------------
def nodes_of(mixture: ScalarMixture, total: int = 128) -> np.ndarray:
    """Sorted per-object quadrature nodes, shape (G, n): loc_k + scale_k * z_j for all k.

    At least `total` nodes per object and 8 per component over +-6 scales,
    so every component is resolved however narrow or isolated it is. With the
    end-corrected trapezoid rule this integrates CRPS and moments to ~1e-4
    relative error (the knots of a recalibrated predictive add nodes).
    """
    per_component = max(8, -(-total // mixture.num_components))
    z = np.linspace(-_NODE_SPAN, _NODE_SPAN, per_component)
    nodes = mixture.loc[:, :, None] + mixture.scale[:, :, None] * z  # (n, K, J)
    return np.sort(nodes.reshape(nodes.shape[0], -1), axis=1).T


def tabulate(
    evaluator: Evaluator, x: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """CDF and one-sided densities on sorted nodes `x` (G, n).

    Returns `(x, cdf, pdf_left, pdf_right)`. An evaluator whose density jumps
    (a recalibrated one, at its knots) may define `tabulate(x)` to insert its
    breakpoints as nodes and give both one-sided limits there; otherwise the
    density is continuous and both limits are the density.
    """
    own = getattr(evaluator, "tabulate", None)
    if own is not None:
        return own(x)
    cdf, pdf = evaluator.cdf_and_pdf(x)
    return x, cdf, pdf, pdf


def end_corrected_trapezoid(
    x: np.ndarray, g: np.ndarray, dg_right: np.ndarray, dg_left: np.ndarray
) -> np.ndarray:
    """Integral over axis 0 of `g` sampled at sorted `x`, given its one-sided derivatives.

    Per cell [a, b]: h (g_a + g_b) / 2 + h^2 (g'(a+) - g'(b-)) / 12, the
    Euler-Maclaurin corrected trapezoid rule (exact for cubics); the integrand
    only needs to be smooth inside each cell.
    """
    h = np.diff(x, axis=0)
    return np.sum(0.5 * h * (g[1:] + g[:-1]) + h * h / 12.0 * (dg_right[:-1] - dg_left[1:]), axis=0)


_QUANTILE_LADDER = np.concatenate(
    [
        [1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 3e-3],
        np.linspace(0.01, 0.99, 50),
        [1 - 3e-3, 1 - 1e-3, 1 - 1e-4, 1 - 1e-5, 1 - 1e-6, 1 - 1e-7],
    ]
)
_LADDER_SUBDIVISIONS = 3


def quantile_nodes(distribution: Distribution) -> np.ndarray:
    """Sorted per-object nodes (G, n) on a ladder of each object's own quantiles.

    For families without component locations: 62 levels from 1e-7 to 1 - 1e-7
    (dense in the body, logarithmic in the tails), each interval split in 3,
    so nodes follow every mode and tail of any continuous shape. For a
    mixture of another family (`MixtureSameFamily`, ensembles of such heads),
    every other level of each component's own ladder.
    """
    components = getattr(distribution, "component_distribution", None)
    if components is not None and distribution.event_shape == ():
        # A mixture: the ladders of its components (closed-form quantiles for most
        # families), not a search of the mixture's own quantiles.
        levels = _QUANTILE_LADDER[::2].reshape((-1,) + (1,) * len(components.batch_shape))
        q = np.asarray(ops.convert_to_numpy(components.quantile(levels)), dtype=np.float64)
        q = np.moveaxis(q, -1, 1).reshape(-1, *q.shape[1:-1])  # (L K, *batch)
        finite = np.isfinite(q)
        low = np.min(np.where(finite, q, np.inf), axis=0)
        high = np.max(np.where(finite, q, -np.inf), axis=0)
        return ladder_nodes(np.clip(np.nan_to_num(q, nan=0.0), low, high))
    levels = _QUANTILE_LADDER.reshape((-1,) + (1,) * len(distribution.batch_shape))
    return ladder_nodes(ops.convert_to_numpy(distribution.quantile(levels)))


QUANTILE_LADDER = _QUANTILE_LADDER
"""The levels of `quantile_nodes` (1e-7 to 1 - 1e-7)."""


def ladder_nodes(quantiles: Any) -> np.ndarray:
    """Nodes (G, n) from quantiles (L, n) at `QUANTILE_LADDER`: each interval split in 3."""
    q = np.sort(np.asarray(quantiles, dtype=np.float64), axis=0)  # (L, n)
    t = np.linspace(0.0, 1.0, _LADDER_SUBDIVISIONS, endpoint=False)[:, None, None]
    inner = q[:-1][None] + t * (q[1:] - q[:-1])[None]  # (S, L - 1, n)
    return np.sort(np.concatenate([inner.reshape(-1, q.shape[1]), q[-1:]], axis=0), axis=0)


def base_nodes(predictive: Predictive, rows: Any) -> tuple[np.ndarray, np.ndarray]:
    """Quadrature nodes (G, r) and a centre (r,) for the rows of a predictive's base distribution.

    Normal families: nodes on every component (`nodes_of`) and the mean;
    other families: the quantile ladder (`quantile_nodes`) and the median.
    A predictive with a `quadrature_nodes(rows)` method (a recalibrated one,
    whose tails may reach beyond the base's) adds its own nodes.
    """
    distribution = predictive.distribution
    if is_normal_family(distribution):
        mixture = mixture_of(distribution).take(rows)
        nodes, centre = nodes_of(mixture), mixture.mean
    else:
        nodes = quantile_nodes(distribution.take(rows))
        centre = nodes[nodes.shape[0] // 2]
    extra = getattr(predictive, "quadrature_nodes", None)  # where it moves mass off the base's
    if extra is not None:
        nodes = np.sort(np.concatenate([nodes, extra(rows)], axis=0), axis=0)
    return nodes, centre


def _per_chunk(predictive: Predictive, n: int, work: Any, outputs: int) -> list[np.ndarray]:
    """Runs `work(nodes, centre, evaluator_rows, rows)` over object chunks."""
    distribution = predictive.distribution
    components = getattr(distribution, "num_components", 1)
    per_row = max(200, 8 * components) + 100
    results = [np.empty(n) for _ in range(outputs)]
    for rows in row_chunks(predictive, n, per_row):
        nodes, centre = base_nodes(predictive, rows)
        values = work(nodes, centre, evaluator_of(predictive, rows), rows)
        for result, value in zip(results, values, strict=True):
            result[rows] = value
    return results


def crps_numeric(predictive: Predictive, y: np.ndarray) -> np.ndarray:
    """CRPS = integral of (F(x) - 1{x >= y})^2 dx per object, by quadrature.

    Works for any predictive whose `cdf` and `pdf` agree: nodes come from its
    distribution's components (for a recalibrated predictive, the base ones),
    with `y` inserted so the indicator's jump falls on a node; in each cell the
    integrand is smooth and its derivative is 2 (F - H) f (breakpoints of a
    recalibrated density are nodes too, see `tabulate`).
    """

    def work(
        nodes: np.ndarray, centre: np.ndarray, evaluator: Evaluator, rows: slice
    ) -> list[np.ndarray]:
        y_rows = y[rows]
        x = np.sort(np.concatenate([nodes, y_rows[None, :]], axis=0), axis=0)
        x, cdf, pdf_left, pdf_right = tabulate(evaluator, x)
        right = x[:-1] >= y_rows  # cell [x_g, x_g+1] lies right of y: indicator 1
        ga, gb = cdf[:-1] - right, cdf[1:] - right
        h = np.diff(x, axis=0)
        cells = 0.5 * h * (ga**2 + gb**2) + h * h / 6.0 * (ga * pdf_right[:-1] - gb * pdf_left[1:])
        return [np.sum(cells, axis=0)]

    return _per_chunk(predictive, len(y), work, 1)[0]


def summaries_numeric(
    predictive: Predictive, n: int, refine: int = 65
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, variance and mode per object, from one tabulation of the CDF and density.

    Moments by quadrature of the CDF (integration by parts): with numerical
    support [a, b] and a centre c (the base mean or median, against cancellation),
    E[X - c] = (b - c) - int F dx and E[(X - c)^2] = (b - c)^2 - int 2 (x - c) F dx.
    Mode: the best node (breakpoints of a piecewise density are nodes, where
    the supremum may be a one-sided limit), then a fine grid between its
    neighbours.
    """

    def work(
        nodes: np.ndarray, centre: np.ndarray, evaluator: Evaluator, rows: slice
    ) -> list[np.ndarray]:
        x, cdf, pdf_left, pdf_right = tabulate(evaluator, nodes)
        c = centre
        d = x - c
        b = d[-1]
        first = b - end_corrected_trapezoid(x, cdf, pdf_right, pdf_left)
        second = b**2 - end_corrected_trapezoid(
            x, 2.0 * d * cdf, 2.0 * (cdf + d * pdf_right), 2.0 * (cdf + d * pdf_left)
        )
        at_nodes = np.maximum(pdf_left, pdf_right)
        best = np.argmax(at_nodes, axis=0)
        cols = np.arange(x.shape[1])
        lo = x[np.maximum(best - 1, 0), cols]
        hi = x[np.minimum(best + 1, x.shape[0] - 1), cols]
        fine = lo + (hi - lo) * np.linspace(0.0, 1.0, refine)[:, None]  # (refine, n)
        fine_pdf = evaluator.pdf(fine)
        fine_best = np.argmax(fine_pdf, axis=0)
        node_wins = at_nodes[best, cols] > fine_pdf[fine_best, cols]
        mode = np.where(node_wins, x[best, cols], fine[fine_best, cols])
        return [c + first, np.maximum(second - first**2, 0.0), mode]

    mean, variance, mode = _per_chunk(predictive, n, work, 3)
    return mean, variance, mode


def mean_of(predictive: Predictive) -> np.ndarray:
    evaluator = evaluator_of(predictive)
    if isinstance(evaluator, ScalarMixture):
        return evaluator.mean
    return np.asarray(predictive.mean, dtype=np.float64)


def variance_of(predictive: Predictive) -> np.ndarray:
    evaluator = evaluator_of(predictive)
    if isinstance(evaluator, ScalarMixture):
        return evaluator.variance
    return np.asarray(predictive.variance, dtype=np.float64)
