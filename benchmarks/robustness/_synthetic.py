"""Seeded synthetic regression sets whose conditional distribution is known.

Every set has five inputs `x ~ U(-1, 1)^5`, of which the first two or three
matter (the others are noise a model must learn to ignore), and a target
drawn from a known `p(y | x)` (see `_truth`). With the truth available a
predictive can be compared with it row by row, not only through the
uniformity of its PIT values.

The generators and their `p(y | x)` are listed in `DESCRIPTIONS` (which the
results file prints).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import special

from benchmarks.robustness._truth import (
    LogNormalTruth,
    NormalMixtureTruth,
    NormalTruth,
    StudentTTruth,
    Truth,
)

INPUTS = 5


def _signal(x: np.ndarray) -> np.ndarray:
    return x[:, 0] + np.sin(3.0 * x[:, 1])


def heteroscedastic(x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, Truth]:
    truth = NormalTruth(_signal(x), 0.1 + 0.6 * np.abs(x[:, 0]))
    return truth.loc + truth.scale * rng.standard_normal(len(x)), truth


def skewed(x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, Truth]:
    truth = LogNormalTruth(0.5 * x[:, 0] + 0.5 * np.sin(3.0 * x[:, 1]), 0.6 + 0.3 * x[:, 2])
    return np.exp(truth.mu + truth.sigma * rng.standard_normal(len(x))), truth


def heavy_tailed(x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, Truth]:
    truth = StudentTTruth(3.0, _signal(x), np.full(len(x), 0.3))
    return truth.loc + truth.scale * rng.standard_t(truth.df, len(x)), truth


def bimodal(x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, Truth]:
    half_gap = 1.0 + 0.5 * np.sin(3.0 * x[:, 1])
    w = special.expit(2.0 * x[:, 2])
    truth = NormalMixtureTruth(
        weights=np.stack([w, 1.0 - w], axis=1),
        loc=np.stack([x[:, 0] + half_gap, x[:, 0] - half_gap], axis=1),
        scale=np.full((len(x), 2), 0.25),
    )
    first = rng.random(len(x)) < w
    loc = np.where(first, truth.loc[:, 0], truth.loc[:, 1])
    return loc + 0.25 * rng.standard_normal(len(x)), truth


def thousands(x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, Truth]:
    truth = NormalTruth(3000.0 + 600.0 * _signal(x), 100.0 + 150.0 * np.abs(x[:, 0]))
    return truth.loc + truth.scale * rng.standard_normal(len(x)), truth


GENERATORS: dict[str, Callable[[np.ndarray, np.random.Generator], tuple[np.ndarray, Truth]]] = {
    "heteroscedastic": heteroscedastic,
    "skewed": skewed,
    "heavy-tailed": heavy_tailed,
    "bimodal": bimodal,
    "thousands": thousands,
}


DESCRIPTIONS = {
    "heteroscedastic": "y ~ Normal(x0 + sin 3x1, 0.1 + 0.6 abs(x0)), x ~ U(-1, 1)^5",
    "skewed": "log y ~ Normal(0.5 x0 + 0.5 sin 3x1, 0.6 + 0.3 x2), x ~ U(-1, 1)^5",
    "heavy-tailed": "y = x0 + sin 3x1 + 0.3 T(3 dof), x ~ U(-1, 1)^5",
    "bimodal": "y ~ w N(x0 + g, 0.25) + (1 - w) N(x0 - g, 0.25), g = 1 + 0.5 sin 3x1, "
    "w = sigmoid(2 x2), x ~ U(-1, 1)^5",
    "thousands": "y ~ Normal(3000 + 600 (x0 + sin 3x1), 100 + 150 abs(x0)), x ~ U(-1, 1)^5",
}


@dataclass(frozen=True)
class SyntheticDraw:
    """Inputs (n, 5), targets (n,) and the true conditional of each row."""

    x: np.ndarray
    y: np.ndarray
    truth: Truth


def draw(generator: str, n: int, seed: int) -> SyntheticDraw:
    """`n` rows of `generator`, reproducible from `seed` (NumPy's PCG64)."""
    if generator not in GENERATORS:
        raise ValueError(
            f"Argument `generator` must be one of {sorted(GENERATORS)}. "
            f"Received: generator={generator!r}"
        )
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, size=(n, INPUTS))
    y, truth = GENERATORS[generator](x, rng)
    return SyntheticDraw(x, y, truth)
