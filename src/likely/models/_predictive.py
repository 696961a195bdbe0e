"""`Predictive`: a predictive distribution of any family, with NumPy results.

Ensembles and stochastic (Bayesian, MC-dropout) models predict an
equal-weight mixture of members: the M ensemble members, or the S forward
passes of a stochastic model. `Predictive` remembers the members and splits
the variance by the law of total variance,
`variance = aleatoric_variance + epistemic_variance`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
from keras import ops

from likely.distributions import (
    Bernoulli,
    Categorical,
    Distribution,
    Independent,
    MixtureNormal,
    MixtureSameFamily,
    MultivariateNormalTriL,
)

DEFAULT_SUMMARY_QUANTILES = (0.05, 0.16, 0.5, 0.84, 0.95)


def _numpy(x: Any) -> np.ndarray:
    return np.asarray(ops.convert_to_numpy(x))


class Predictive:
    """A predictive distribution over a batch of objects, with NumPy results.

    Wraps a likely distribution of any family (the output of
    `predict_distribution`, or one built directly from arrays) so that
    metrics, calibration and plots work on predictions made anywhere. Every
    method returns NumPy arrays.

    Values are evaluated row by row: `log_prob(y)`, `pdf(y)` and `cdf(y)` take
    one value per object, `y` of shape `(n,)` (or `(n, 1)`, the course's
    column vectors) for scalar targets and `(n, E)` for E-dimensional ones,
    and return `(n,)` (per dimension `(n, E)` for `cdf`); other shapes are
    refused. Every object on one shared grid is `pdf_grid(grid)` /
    `cdf_grid(grid)`, shape `(n, G)`; the `*_at` methods take values that
    broadcast against the batch as in `torch.distributions` (`(G, n)`: G
    values per object).

    A predictive made of members (an ensemble's networks, or the forward
    passes of a stochastic model) is a mixture of them; `aleatoric_variance`
    and `epistemic_variance` split its variance between them.

    Args:
        distribution: A `likely.distributions.Distribution` with batch shape (n,).
        num_members: Number of members M. Without `members`, the mixture's K
            components are M consecutive groups of K / M (default 1: a single
            network, whose epistemic variance is zero).
        members: The members themselves, a distribution with batch shape
            (n, M), of which `distribution` is the equal-weight mixture.

    Example:
        >>> import numpy as np, likely
        >>> p = likely.Predictive(likely.distributions.Normal(np.zeros(3), np.ones(3)))
        >>> lo, hi = p.interval(0.68)
        >>> np.round(hi, 3)
        array([0.994, 0.994, 0.994], dtype=float32)
        >>> two = likely.distributions.MixtureNormal(np.zeros((1, 2)), [[-1.0, 1.0]], [[1.0, 1.0]])
        >>> p = likely.Predictive(two, num_members=2)
        >>> p.variance, p.aleatoric_variance, p.epistemic_variance
        (array([2.], dtype=float32), array([1.], dtype=float32), array([1.], dtype=float32))
    """

    def __init__(
        self,
        distribution: Distribution,
        *,
        num_members: int | None = None,
        members: Distribution | None = None,
    ) -> None:
        if not isinstance(distribution, Distribution):
            raise TypeError(
                "Argument `distribution` must be a likely distribution "
                f"(likely.distributions.Distribution). Received: {type(distribution).__name__}."
            )
        if members is not None:
            if not isinstance(members, Distribution) or (
                tuple(members.batch_shape[:-1]) != tuple(distribution.batch_shape)
            ):
                raise ValueError(
                    "Argument `members` must be a likely distribution with batch shape "
                    f"{tuple(distribution.batch_shape) + ('M',)}. Received: {members!r}."
                )
            count = int(members.batch_shape[-1])
            if num_members not in (None, count):
                raise ValueError(
                    f"Argument `num_members` ({num_members}) disagrees with the {count} members."
                )
            num_members = count
        num_members = 1 if num_members is None else num_members
        if (
            isinstance(num_members, bool)
            or not isinstance(num_members, int | np.integer)
            or num_members < 1
        ):
            raise ValueError(
                "Argument `num_members` must be a positive integer. "
                f"Received: num_members={num_members!r}"
            )
        if members is None and num_members > 1:
            components = getattr(distribution, "num_components", None)
            if not isinstance(distribution, MixtureNormal | MixtureSameFamily) or (
                components % num_members
            ):
                raise ValueError(
                    "Argument `num_members` must divide the components of a mixture "
                    f"distribution into equal groups (or pass `members`). Received: "
                    f"num_members={num_members} for {distribution!r}."
                )
        self.distribution = distribution
        self.members = members
        self.num_members = int(num_members)

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return self.distribution.batch_shape

    @property
    def event_shape(self) -> tuple[int, ...]:
        return self.distribution.event_shape

    @property
    def support(self) -> Any:
        """The set the values lie in (`likely.distributions.constraints`)."""
        return self.distribution.support

    def __len__(self) -> int:
        return self.batch_shape[0] if self.batch_shape else 1

    def __repr__(self) -> str:
        members = f", num_members={self.num_members}" if self.num_members > 1 else ""
        return f"Predictive({self.distribution!r}{members})"

    # -- summaries ----------------------------------------------------------------
    @property
    def mean(self) -> np.ndarray:
        return _numpy(self.distribution.mean)

    @property
    def variance(self) -> np.ndarray:
        return _numpy(self.distribution.variance)

    @property
    def stddev(self) -> np.ndarray:
        return np.sqrt(self.variance)

    @property
    def aleatoric_variance(self) -> np.ndarray:
        """Mean of the members' predictive variances: the noise the members agree on.

        With member weights `pi_m` (equal for ensembles and Monte-Carlo passes),
        member means `mu_m` and variances `s2_m`: `sum_m pi_m s2_m`.
        """
        weights, _, variances = self._member_moments()
        return self._as_output(np.sum(_expand(weights, variances) * variances, axis=1))

    @property
    def epistemic_variance(self) -> np.ndarray:
        """Variance of the members' means: how much the members disagree.

        `sum_m pi_m (mu_m - mu)^2` with `mu = sum_m pi_m mu_m`; zero for a
        single member. `aleatoric_variance + epistemic_variance == variance`
        (law of total variance).
        """
        weights, means, _ = self._member_moments()
        w = _expand(weights, means)
        mean = np.sum(w * means, axis=1, keepdims=True)
        return self._as_output(np.sum(w * np.square(means - mean), axis=1))

    def _member_moments(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Member weights (n, M) and member means and variances (n, M, *event), float64."""
        if self.members is not None:
            means = _numpy(self.members.mean).astype(np.float64)
            variances = _numpy(self.members.variance).astype(np.float64)
            m = self.num_members
            return np.full(means.shape[:2], 1.0 / m), means, variances
        if self.num_members == 1:
            means = _numpy(self.distribution.mean).astype(np.float64)[:, None]
            variances = _numpy(self.distribution.variance).astype(np.float64)[:, None]
            return np.ones(means.shape[:2]), means, variances
        d = self.distribution
        components = d.component_distribution
        log_w = np.broadcast_to(_numpy(d.log_weights), d.batch_shape + (d.num_components,))
        means = _numpy(components.mean).astype(np.float64)  # (n, K, *event)
        variances = _numpy(components.variance).astype(np.float64)
        n, k, m = log_w.shape[0], log_w.shape[-1], self.num_members
        log_w = log_w.astype(np.float64).reshape(n, m, k // m)
        means = means.reshape((n, m, k // m) + means.shape[2:])
        variances = variances.reshape(means.shape)
        top = np.max(log_w, axis=-1, keepdims=True)
        log_member = top + np.log(np.sum(np.exp(log_w - top), axis=-1, keepdims=True))
        within = np.exp(log_w - log_member)  # (n, M, K/M)
        within = within.reshape(within.shape + (1,) * (means.ndim - 3))
        member_means = np.sum(within * means, axis=2)
        member_variances = np.sum(
            within * (variances + np.square(means - np.expand_dims(member_means, 2))), axis=2
        )
        weights = np.exp(log_member[..., 0])
        return weights / np.sum(weights, axis=-1, keepdims=True), member_means, member_variances

    def _as_output(self, value: np.ndarray) -> np.ndarray:
        return value.astype(keras.backend.floatx())

    @functools.cached_property
    def mode(self) -> np.ndarray:
        """The highest mode of the density (for vector events, of the joint density).

        An iterative search for mixtures and flows; computed once per predictive.
        """
        return _numpy(self.distribution.mode)

    def quantile(self, q: Any) -> np.ndarray:
        """Quantile(s) at probability `q` (a scalar, or an array broadcasting to the batch)."""
        return _numpy(self.distribution.quantile(check_probability("q", q)))

    def quantiles(self, levels: Any) -> np.ndarray:
        """Quantiles at several `levels`, stacked on a last axis: shape (*batch, *event, L)."""
        levels = np.atleast_1d(check_probability("levels", levels))
        levels = levels.reshape(levels.shape + (1,) * len(self.batch_shape + self.event_shape))
        return np.moveaxis(self.quantile(levels), 0, -1)

    def interval(self, level: float = 0.68) -> tuple[np.ndarray, np.ndarray]:
        """Central interval holding probability `level`: (lower, upper) quantiles."""
        level = float(level)
        if not 0.0 < level < 1.0:
            raise ValueError(f"Argument `level` must be in (0, 1). Received: level={level!r}")
        return self.quantile(0.5 - level / 2), self.quantile(0.5 + level / 2)

    # -- densities, one value per object ---------------------------------------------
    def log_prob(self, y: Any) -> np.ndarray:
        """Log density (or mass) of each object's own value `y`: shape (n,)."""
        return self.log_prob_at(self._rows("y", y))

    def pdf(self, y: Any) -> np.ndarray:
        """Density (or mass) of each object's own value `y`: shape (n,)."""
        return self.pdf_at(self._rows("y", y))

    def cdf(self, y: Any) -> np.ndarray:
        """CDF of each object at its own value `y`: shape (n,) (per dimension (n, E))."""
        return self.cdf_at(self._rows("y", y))

    def _rows(self, name: str, y: Any) -> np.ndarray:
        """`y` as one value per object, shape batch + event; (n, 1) for scalars is flattened."""
        y = check_values(name, y)
        expected = tuple(self.batch_shape) + tuple(self.event_shape)
        if y.shape == expected:
            return y
        if not self.event_shape and y.shape == expected + (1,):
            return y[..., 0]
        raise ValueError(
            f"Argument `{name}` must hold one value per object, shape {expected}"
            f"{' or ' + str(expected + (1,)) if not self.event_shape else ''}. Received: shape "
            f"{y.shape}. To evaluate every object on a shared grid use pdf_grid(grid) / "
            "cdf_grid(grid) (shape (n, G)); for values that broadcast against the batch "
            "(torch's convention) use log_prob_at / pdf_at / cdf_at."
        )

    # -- densities, broadcasting against the batch -----------------------------------
    def log_prob_at(self, values: Any) -> np.ndarray:
        """Log density at `values` broadcast against the batch shape (torch's convention)."""
        return _numpy(self.distribution.log_prob(check_values("values", values)))

    def pdf_at(self, values: Any) -> np.ndarray:
        """Density at `values` broadcast against the batch shape."""
        return np.exp(self.log_prob_at(values))

    def cdf_at(self, values: Any) -> np.ndarray:
        """CDF at `values` broadcast against the batch shape."""
        return _numpy(self.distribution.cdf(check_values("values", values)))

    def pdf_grid(self, grid: Any) -> np.ndarray:
        """Density of every object on one shared 1-D `grid`: shape (n, G).

        Example:
            >>> import numpy as np, likely
            >>> p = likely.Predictive(likely.distributions.Normal(np.zeros(3), np.ones(3)))
            >>> p.pdf_grid(np.linspace(-1.0, 1.0, 5)).shape
            (3, 5)
        """
        return self._on_grid(self.pdf_at, grid)

    def cdf_grid(self, grid: Any) -> np.ndarray:
        """CDF of every object on one shared 1-D `grid`: shape (n, G)."""
        return self._on_grid(self.cdf_at, grid)

    def _on_grid(self, at: Callable[[np.ndarray], np.ndarray], grid: Any) -> np.ndarray:
        """`at` on the grid, a block of grid points at a time: (n, G).

        A mixture's density on all points at once holds n x G x K terms
        (100,000 objects, 301 points, 10 components: 1.2 GB of float32 per
        temporary); blocks of at most `_GRID_BLOCK_PAIRS` (point, object)
        pairs keep that bounded whatever n and G.
        """
        points = _check_grid(grid, self)
        n = int(self.batch_shape[0])
        block = max(1, _GRID_BLOCK_PAIRS // max(n, 1))
        out: np.ndarray | None = None
        for start in range(0, len(points), block):
            values = np.asarray(at(points[start : start + block, None]))  # (g, n)
            if out is None:
                out = np.empty((n, len(points)), values.dtype)
            out[:, start : start + len(values)] = values.T
        return np.empty((n, 0), keras.backend.floatx()) if out is None else out

    def summary(
        self,
        quantiles: Any = DEFAULT_SUMMARY_QUANTILES,
        quantile_name: Any = None,
    ) -> dict[str, np.ndarray]:
        """Columns that describe each object's predictive, one value per object, by name.

        - Continuous targets: `mean`, `std`, `mode` and a column per quantile
          level (named `q0.05`, ... or by `quantile_name(level)`); for E
          target dimensions every name gets a suffix `_0` .. `_{E-1}` (the
          marginals), and a multivariate normal adds `corr_i_j`.
        - Classifiers: `p` (Bernoulli: P(class 1); `p_0` .. for several binary
          targets) or `p_0` .. `p_{C-1}` (categorical), and `mode` (the most
          probable class).

        `likely predict` and the MLflow pyfunc write these columns.

        Example:
            >>> import numpy as np, likely
            >>> p = likely.Predictive(likely.distributions.Normal(np.zeros(2), np.ones(2)))
            >>> list(p.summary(quantiles=[0.5]))
            ['mean', 'std', 'mode', 'q0.5']
        """
        if len(self.batch_shape) != 1:
            raise ValueError(
                f"summary() needs one distribution per object, batch shape (n,). Received: "
                f"{self.batch_shape}."
            )
        d = self.distribution
        columns: dict[str, np.ndarray] = {}
        if isinstance(d, Categorical) or _is_bernoulli(d):
            base = d.base if isinstance(d, Independent) else d
            probs = _numpy(base.probs)
            if probs.ndim == 1:
                columns["p"] = probs
            else:
                columns.update({f"p_{k}": probs[:, k] for k in range(probs.shape[1])})
            mode = _numpy(d.mode)
            if isinstance(d, Categorical) and mode.ndim == 2:  # one-hot modes -> labels
                mode = np.argmax(mode, axis=1)
            if mode.ndim == 1:
                columns["mode"] = mode
            else:
                columns.update({f"mode_{i}": mode[:, i] for i in range(mode.shape[1])})
            return {k: np.asarray(v, dtype=np.float64) for k, v in columns.items()}
        name = quantile_name or (lambda q: f"q{q:g}")
        levels = [float(q) for q in np.atleast_1d(quantiles)]
        parts = [("mean", self.mean), ("std", self.stddev), ("mode", self.mode)]
        if levels:
            values = self.quantiles(levels)  # (n, *event, L)
            parts += [(name(q), values[..., i]) for i, q in enumerate(levels)]
        for key, value in parts:
            value = np.asarray(value, dtype=np.float64)
            if value.ndim == 1:
                columns[key] = value
            else:
                columns.update({f"{key}_{i}": value[:, i] for i in range(value.shape[1])})
        if isinstance(d, MultivariateNormalTriL):
            corr = _numpy(d.correlation)
            for i in range(corr.shape[1]):
                for j in range(i + 1, corr.shape[1]):
                    columns[f"corr_{i}_{j}"] = corr[:, i, j].astype(np.float64)
        return columns

    def sample(self, n: int = 1, seed: int | None = None) -> np.ndarray:
        """`n` draws per object, shape (n, *batch, *event)."""
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise ValueError(f"Argument `n` must be a positive integer. Received: n={n!r}")
        return _numpy(self.distribution.sample((int(n),), seed=seed))


def _is_bernoulli(d: Distribution) -> bool:
    return isinstance(d, Bernoulli) or (
        isinstance(d, Independent) and isinstance(d.base, Bernoulli)
    )


def _expand(weights: np.ndarray, like: np.ndarray) -> np.ndarray:
    """(n, M) weights with trailing axes to broadcast against `like` (n, M, *event)."""
    return weights.reshape(weights.shape + (1,) * (like.ndim - 2))


def check_probability(name: str, q: Any) -> np.ndarray:
    """`q` as a float array of probabilities in [0, 1], or a ValueError naming `name`."""
    q = np.asarray(q, dtype=float)
    if np.isnan(q).any() or (q < 0).any() or (q > 1).any():
        raise ValueError(f"Argument `{name}` must hold probabilities in [0, 1]. Received: {q!r}")
    return q


def check_values(name: str, y: Any) -> np.ndarray:
    """`y` as a numeric NumPy array, or a TypeError naming `name`."""
    y = np.asarray(y)
    if not np.issubdtype(y.dtype, np.number) and y.dtype != bool:
        raise TypeError(f"Argument `{name}` must be numeric. Received dtype {y.dtype}.")
    return y


# (grid point, object) pairs per block of pdf_grid / cdf_grid.
_GRID_BLOCK_PAIRS = 1 << 19


def _check_grid(grid: Any, predictive: Predictive) -> np.ndarray:
    """A finite 1-D grid, for a predictive with batch shape (n,) and scalar events."""
    if len(predictive.batch_shape) != 1 or predictive.event_shape != ():
        raise ValueError(
            "pdf_grid and cdf_grid need a predictive with batch shape (n,) and scalar events. "
            f"Received: batch_shape {predictive.batch_shape}, event_shape "
            f"{predictive.event_shape}."
        )
    values = check_values("grid", grid).astype(np.float64)
    if values.ndim != 1 or not np.isfinite(values).all():
        raise ValueError(
            f"Argument `grid` must be a finite 1-D array. Received: shape {values.shape}."
        )
    return values
