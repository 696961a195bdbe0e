"""Seeded synthetic sets whose conditional distribution is known, for checking heads."""

from __future__ import annotations

import numpy as np

from likely.datasets._toy import _check_n, _rng


def make_correlated_pair(
    n: int = 2000, seed: int | None = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two targets that depend on one input jointly, with an input-dependent correlation.

    The analogue of fitting two cosmological parameters at once: with
    `x ~ U(-1, 1)`, `y ~ N(mu(x), Sigma(x))` where `mu(x) = (sin(pi x), x^2)`,
    standard deviations `(0.3 + 0.2 x, 0.4 - 0.2 x)` and correlation
    `rho(x) = 0.9 x` (from -0.9 to 0.9).

    Returns:
        `x` (n, 1), `y` (n, 2) and the true correlation `rho` (n,).

    Example:
        >>> from likely.datasets import make_correlated_pair
        >>> x, y, rho = make_correlated_pair(n=5, seed=0)
        >>> x.shape, y.shape, bool(abs(rho).max() < 0.9)
        ((5, 1), (5, 2), True)
    """
    rng = _rng(seed)
    n = _check_n(n)
    x = rng.uniform(-1.0, 1.0, size=n)
    rho = 0.9 * x
    s1, s2 = 0.3 + 0.2 * x, 0.4 - 0.2 * x
    z1, z2 = rng.normal(size=(2, n))
    y1 = np.sin(np.pi * x) + s1 * z1
    y2 = x**2 + s2 * (rho * z1 + np.sqrt(1.0 - rho**2) * z2)
    return x[:, None], np.stack([y1, y2], axis=1), rho


def make_binary_classes(
    n: int = 4000, seed: int | None = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Binary labels with known probabilities: `P(y = 1 | x) = sigmoid(2 x0 - x1^2 + 0.5)`.

    `x ~ U(-2, 2)^2`.

    Returns:
        `x` (n, 2), labels `y` (n,) in {0, 1}, and the true probabilities `p` (n,).

    Example:
        >>> from likely.datasets import make_binary_classes
        >>> x, y, p = make_binary_classes(n=4, seed=0)
        >>> x.shape, sorted(set(y.tolist())) <= [0, 1], bool(((p > 0) & (p < 1)).all())
        ((4, 2), True, True)
    """
    rng = _rng(seed)
    n = _check_n(n)
    x = rng.uniform(-2.0, 2.0, size=(n, 2))
    p = 1.0 / (1.0 + np.exp(-(2.0 * x[:, 0] - x[:, 1] ** 2 + 0.5)))
    y = (rng.uniform(size=n) < p).astype(np.int64)
    return x, y, p


def bounded_bimodal_components(x: np.ndarray) -> tuple[np.ndarray, ...]:
    """The mixture of `make_bounded_bimodal` at inputs x: (weight, a1, b1, a2, b2)."""
    x = np.asarray(x, dtype=np.float64)
    return 0.3 + 0.4 * x, 2.0 + 6.0 * x, np.full_like(x, 14.0), np.full_like(x, 14.0), 8.0 - 6.0 * x


def make_bounded_bimodal(n: int = 4000, seed: int | None = 0) -> tuple[np.ndarray, np.ndarray]:
    """A target on [0, 1] with two modes that move with the input (a mixture of two betas).

    `x ~ U(0, 1)`; with probability `w = 0.3 + 0.4 x`, `y ~ Beta(2 + 6x, 14)`
    (a mode near 0.1-0.35), else `y ~ Beta(14, 8 - 6x)` (a mode near 0.6-0.9).
    `bounded_bimodal_components(x)` gives the true parameters, e.g. for the
    true density with `scipy.stats.beta`.

    Returns:
        `x` (n, 1) and `y` (n,) in (0, 1).

    Example:
        >>> from likely.datasets import make_bounded_bimodal
        >>> x, y = make_bounded_bimodal(n=100, seed=0)
        >>> bool(((y > 0) & (y < 1)).all())
        True
    """
    rng = _rng(seed)
    n = _check_n(n)
    x = rng.uniform(0.0, 1.0, size=n)
    w, a1, b1, a2, b2 = bounded_bimodal_components(x)
    first = rng.uniform(size=n) < w
    y = np.where(first, rng.beta(a1, b1), rng.beta(a2, b2))
    return x[:, None], y
