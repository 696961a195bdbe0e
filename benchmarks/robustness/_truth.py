"""True conditional distributions of the synthetic sets, one object per test set.

Each class holds the per-row parameters of `p(y | x)` for n rows and gives
its CDF, log-density, CRPS and mean in float64 (SciPy and scoringrules, not
likely), plus a per-row grid of `y` values on which the Kolmogorov distance
to another predictive is evaluated: consecutive grid points are at most
`1 / points` apart in true probability, so the largest gap on the grid is
within `1 / points` of the supremum over all `y` (both CDFs are monotone).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special, stats


def _levels(points: int) -> np.ndarray:
    """Probability levels (j + 1/2) / points, j = 0..points-1."""
    return (np.arange(points) + 0.5) / points


@dataclass
class NormalTruth:
    """`y | x ~ Normal(loc, scale)`."""

    loc: np.ndarray
    scale: np.ndarray
    family = "normal"

    def cdf(self, y: np.ndarray) -> np.ndarray:
        return special.ndtr((y - self._col(self.loc, y)) / self._col(self.scale, y))

    def logpdf(self, y: np.ndarray) -> np.ndarray:
        return stats.norm.logpdf(y, self.loc, self.scale)

    def crps(self, y: np.ndarray) -> np.ndarray:
        import scoringrules

        return np.asarray(scoringrules.crps_normal(y, self.loc, self.scale, backend="numpy"))

    @property
    def mean(self) -> np.ndarray:
        return self.loc

    def grid(self, points: int) -> np.ndarray:
        return self.loc[:, None] + self.scale[:, None] * special.ndtri(_levels(points))[None, :]

    @staticmethod
    def _col(values: np.ndarray, y: np.ndarray) -> np.ndarray:
        return values[:, None] if y.ndim == 2 else values


@dataclass
class LogNormalTruth:
    """`log y | x ~ Normal(mu, sigma)`: positive, right-skewed."""

    mu: np.ndarray
    sigma: np.ndarray
    family = "lognormal"

    def _inner(self) -> NormalTruth:
        return NormalTruth(self.mu, self.sigma)

    def cdf(self, y: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return self._inner().cdf(np.log(np.maximum(y, 0.0)))

    def logpdf(self, y: np.ndarray) -> np.ndarray:
        return stats.lognorm.logpdf(y, self.sigma, scale=np.exp(self.mu))

    def crps(self, y: np.ndarray) -> np.ndarray:
        import scoringrules

        return np.asarray(scoringrules.crps_lognormal(y, self.mu, self.sigma, backend="numpy"))

    @property
    def mean(self) -> np.ndarray:
        return np.exp(self.mu + self.sigma**2 / 2)

    def grid(self, points: int) -> np.ndarray:
        return np.exp(self._inner().grid(points))


@dataclass
class StudentTTruth:
    """`y | x ~ loc + scale * T(df)`: heavy tails (finite variance for df > 2)."""

    df: float
    loc: np.ndarray
    scale: np.ndarray
    family = "student-t"

    def cdf(self, y: np.ndarray) -> np.ndarray:
        loc = NormalTruth._col(self.loc, y)
        scale = NormalTruth._col(self.scale, y)
        return stats.t.cdf((y - loc) / scale, self.df)

    def logpdf(self, y: np.ndarray) -> np.ndarray:
        return stats.t.logpdf(y, self.df, self.loc, self.scale)

    def crps(self, y: np.ndarray) -> np.ndarray:
        import scoringrules

        return np.asarray(scoringrules.crps_t(y, self.df, self.loc, self.scale, backend="numpy"))

    @property
    def mean(self) -> np.ndarray:
        return self.loc

    def grid(self, points: int) -> np.ndarray:
        return self.loc[:, None] + self.scale[:, None] * stats.t.ppf(_levels(points), self.df)


@dataclass
class NormalMixtureTruth:
    """`y | x ~ sum_k weights_k Normal(loc_k, scale_k)`; arrays of shape (n, K)."""

    weights: np.ndarray
    loc: np.ndarray
    scale: np.ndarray
    family = "normal mixture"

    def cdf(self, y: np.ndarray) -> np.ndarray:
        # (n, K) for y (n,); (n, G, K) for y (n, G).
        z = (y[..., None] - self._expand(self.loc, y)) / self._expand(self.scale, y)
        return np.sum(self._expand(self.weights, y) * special.ndtr(z), axis=-1)

    def logpdf(self, y: np.ndarray) -> np.ndarray:
        log_parts = np.log(self.weights) + stats.norm.logpdf(y[:, None], self.loc, self.scale)
        return special.logsumexp(log_parts, axis=1)

    def crps(self, y: np.ndarray) -> np.ndarray:
        import scoringrules

        return np.asarray(
            scoringrules.crps_mixnorm(y, self.loc, self.scale, self.weights, backend="numpy")
        )

    @property
    def mean(self) -> np.ndarray:
        return np.sum(self.weights * self.loc, axis=1)

    def grid(self, points: int) -> np.ndarray:
        # Each component's quantiles at the levels: between two consecutive points
        # of the union the mixture CDF rises by at most sum_k w_k / points = 1 / points.
        z = special.ndtri(_levels(points))
        parts = self.loc[:, :, None] + self.scale[:, :, None] * z[None, None, :]
        return np.sort(parts.reshape(len(self.loc), -1), axis=1)

    @staticmethod
    def _expand(values: np.ndarray, y: np.ndarray) -> np.ndarray:
        return values[:, None, :] if y.ndim == 2 else values


Truth = NormalTruth | LogNormalTruth | StudentTTruth | NormalMixtureTruth
