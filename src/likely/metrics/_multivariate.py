"""Scores of predictives over several target dimensions: energy score, Mahalanobis PIT."""

from __future__ import annotations

from typing import Any

import numpy as np
from keras import ops
from scipy import linalg, stats

from likely.distributions import MultivariateNormalTriL
from likely.metrics import _numeric


def _vector_targets(y_true: Any, predictive: Any) -> tuple[Any, np.ndarray]:
    p = _numeric.as_predictive(predictive)
    if len(p.event_shape) != 1 or len(p.batch_shape) != 1:
        raise ValueError(
            "Multivariate scores need a predictive with batch shape (n,) and event shape (E,). "
            f"Received: batch_shape {p.batch_shape}, event_shape {p.event_shape}."
        )
    y = np.asarray(y_true, dtype=np.float64)
    expected = tuple(p.batch_shape) + tuple(p.event_shape)
    if y.shape != expected or not np.isfinite(y).all():
        raise ValueError(
            f"Argument `y_true` must be finite with shape {expected} (one E-vector per object). "
            f"Received: shape {y.shape}."
        )
    return p, y


def energy_score(
    y_true: Any,
    predictive: Any,
    *,
    n_samples: int = 1000,
    seed: int = 0,
    reduction: str = "mean",
) -> Any:
    """Energy score `E||X - y|| - E||X - X'|| / 2` (Gneiting & Raftery 2007), lower is better.

    The multivariate generalization of the CRPS, strictly proper, estimated
    from `n_samples` draws of each object's predictive (scoringrules'
    `es_ensemble`, the unbiased "nrg" estimator); the Monte-Carlo error
    shrinks as `1 / sqrt(n_samples)`.

    Args:
        y_true: Observed vectors, shape (n, E).
        predictive: A predictive with event shape (E,) (e.g. of a
            `MultivariateNormalTriL` head).
        n_samples: Draws per object.
        seed: Seed of the draws.
        reduction: "mean", "sum" or "none".

    Example:
        >>> import numpy as np, likely
        >>> tril = np.tile(np.eye(2), (2, 1, 1))
        >>> d = likely.distributions.MultivariateNormalTriL(np.zeros((2, 2)), tril)
        >>> # E||X|| - E||X - X'|| / 2 = sqrt(pi / 2) - sqrt(pi) / 2 = 0.367 for N(0, I_2) at 0
        >>> round(likely.metrics.energy_score(np.zeros((2, 2)), d, n_samples=4000), 2)
        0.37
    """
    import scoringrules

    p, y = _vector_targets(y_true, predictive)
    m = _numeric.check_positive_count(n_samples, "n_samples")
    draws = np.moveaxis(np.asarray(p.sample(m, seed=seed), dtype=np.float64), 0, 1)
    # The estimator builds (rows, m, m) distance tables: bound them near 64 MB.
    step = max(1, 2**23 // (m * m))
    values = np.concatenate([
        np.asarray(scoringrules.es_ensemble(y[i : i + step], draws[i : i + step], backend="numpy"))
        for i in range(0, y.shape[0], step)
    ])  # fmt: skip
    return _numeric.reduce(values, reduction)


def mahalanobis_pit(y_true: Any, predictive: Any) -> np.ndarray:
    """PIT of the squared Mahalanobis distance: `chi2_E.cdf((y - mu)^T Sigma^-1 (y - mu))`.

    For a calibrated multivariate normal predictive these values are
    uniform on [0, 1] whatever the correlations, so `likely.metrics`' PIT
    tools apply: `pit_ks`-style uniformity (e.g. `uniformity_tests(u)`) and a
    histogram. Too many values near 1 mean the covariance is too small (or
    wrongly oriented), near 0 too large.

    Args:
        y_true: Observed vectors, shape (n, E).
        predictive: A predictive of a `MultivariateNormalTriL`.

    Returns:
        An array of shape (n,) in [0, 1].

    Example:
        >>> import numpy as np, likely
        >>> d = likely.distributions.MultivariateNormalTriL(np.zeros((1, 2)), np.eye(2)[None])
        >>> likely.metrics.mahalanobis_pit(np.array([[1.0, 1.0]]), d).round(4)
        array([0.6321])
    """
    p, y = _vector_targets(y_true, predictive)
    d = p.distribution
    if not isinstance(d, MultivariateNormalTriL):
        raise TypeError(
            "mahalanobis_pit is for multivariate normal predictives (MultivariateNormalTriL); "
            f"received {d!r}. Use energy_score for other multivariate predictives."
        )
    e = int(d.event_shape[0])
    loc = np.broadcast_to(np.asarray(ops.convert_to_numpy(d.loc), np.float64), y.shape)
    tril = np.broadcast_to(
        np.asarray(ops.convert_to_numpy(d.scale_tril), np.float64), y.shape + (e,)
    )
    z = np.stack(
        [linalg.solve_triangular(t, r, lower=True) for t, r in zip(tril, y - loc, strict=True)]
    )
    return stats.chi2.cdf(np.sum(z * z, axis=1), df=e)
