"""Seeded toy data sets of the regression-with-uncertainty course and the TFP tutorial."""

from __future__ import annotations

import numpy as np


def _rng(seed: int | None) -> np.random.Generator:
    return np.random.default_rng(seed)


def _check_n(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"Argument `n` must be a positive integer. Received: n={n!r}")
    return int(n)


def _uniform_x(rng: np.random.Generator, n: int, x_range: tuple[float, float]) -> np.ndarray:
    lo, hi = x_range
    if not lo < hi:
        raise ValueError(
            f"Argument `x_range` must be (low, high) with low < high. Received: {x_range!r}"
        )
    return rng.uniform(lo, hi, size=n)


def make_d1(
    n: int = 100, seed: int | None = 0, x_range: tuple[float, float] = (-1.0, 1.0)
) -> tuple[np.ndarray, np.ndarray]:
    """D1, a straight line with small constant noise: `y = 0.1 x + N(0, 0.025)`.

    Returns:
        `x` of shape (n, 1) (ready for a Keras `Input((1,))`) and `y` of shape (n,).

    Example:
        >>> from likely.datasets import make_d1
        >>> x, y = make_d1(seed=0)
        >>> x.shape, y.shape
        ((100, 1), (100,))
    """
    rng = _rng(seed)
    x = _uniform_x(rng, _check_n(n), x_range)
    y = 0.1 * x + rng.normal(0.0, 0.025, size=x.shape)
    return x[:, None], y


def d2_noise_std(x: np.ndarray) -> np.ndarray:
    """The true noise standard deviation of D2 at `x`: `0.45 |x|`."""
    return 0.45 * np.abs(np.asarray(x, dtype=float))


def make_d2(
    n: int = 100, seed: int | None = 0, x_range: tuple[float, float] = (-1.0, 1.0)
) -> tuple[np.ndarray, np.ndarray]:
    """D2, heteroscedastic: `y = 0.1 x + sin(5 x) + N(0, 0.45 |x|)`.

    Example:
        >>> from likely.datasets import make_d2
        >>> x, y = make_d2(n=500, seed=1)
        >>> bool(abs(x).max() <= 1.0)
        True
    """
    rng = _rng(seed)
    x = _uniform_x(rng, _check_n(n), x_range)
    y = 0.1 * x + np.sin(5.0 * x) + rng.normal(size=x.shape) * d2_noise_std(x)
    return x[:, None], y


def make_d3(
    n: int = 200, seed: int | None = 0, x_range: tuple[float, float] = (-1.0, 1.0)
) -> tuple[np.ndarray, np.ndarray]:
    """D3, bimodal: half on `0.1 x + 3 x N(0, 0.025)`, half on `0.75 x + 5 x N(0, 0.025)`.

    A single Gaussian cannot describe it away from x = 0; a 2-component mixture can.

    Example:
        >>> from likely.datasets import make_d3
        >>> x, y = make_d3(seed=0)
        >>> x.shape, y.shape
        ((200, 1), (200,))
    """
    rng = _rng(seed)
    n = _check_n(n)
    x = _uniform_x(rng, n, x_range)
    branch = np.arange(n) % 2 == 1
    eps = rng.normal(0.0, 0.025, size=n)
    y = np.where(branch, 0.75 * x + 5.0 * x * eps, 0.1 * x + 3.0 * x * eps)
    order = rng.permutation(n)
    return x[order][:, None], y[order]


def make_tfp_regression(
    n: int = 150, seed: int | None = 43
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The data of TFP's "Probabilistic Layers Regression" tutorial.

    `x = 80 U(0, 1) - 20`, `y = w0 x (1 + sin x) + b0 + 3 (0.25 + g^2) N(0, 1)` with
    `w0 = 0.125`, `b0 = 5`, `g = (x + 20) / 80`.

    Returns:
        `x` (n, 1), `y` (n,) and the tutorial's test grid `linspace(-20, 60, 150)` as (150, 1).

    Example:
        >>> from likely.datasets import make_tfp_regression
        >>> x, y, x_test = make_tfp_regression()
        >>> x.shape, y.shape, x_test.shape
        ((150, 1), (150,), (150, 1))
    """
    rng = _rng(seed)
    w0, b0, x_lo, x_hi = 0.125, 5.0, -20.0, 60.0
    x = (x_hi - x_lo) * rng.uniform(size=_check_n(n)) + x_lo
    g = (x - x_lo) / (x_hi - x_lo)
    y = w0 * x * (1.0 + np.sin(x)) + b0 + rng.normal(size=x.shape) * 3.0 * (0.25 + g**2)
    x_test = np.linspace(x_lo, x_hi, 150)[:, None]
    return x[:, None], y, x_test


def describe_builtins() -> dict[str, str]:
    """Names and one-line descriptions of the built-in data sets.

    Example:
        >>> from likely.datasets import describe_builtins
        >>> "dc2:train" in describe_builtins()
        True
    """
    return {
        "dc2:train": "DC2 photo-z training file, 10,225 galaxies (ugrizy mags, errors, redshift)",
        "dc2:validation": "DC2 photo-z validation file, 20,449 galaxies",
        "d1": "make_d1: y = 0.1x + N(0, 0.025), x in [-1, 1]",
        "d2": "make_d2: y = 0.1x + sin(5x) + N(0, 0.45|x|) (heteroscedastic)",
        "d3": "make_d3: two branches 0.1x and 0.75x (bimodal)",
        "tfp": "make_tfp_regression: the TFP probabilistic-layers tutorial data",
    }
