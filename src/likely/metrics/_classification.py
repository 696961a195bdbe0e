"""Scores of probabilistic classifiers: log loss, Brier score, calibration error, reliability."""

from __future__ import annotations

from typing import Any

import numpy as np
from keras import ops

from likely.distributions import Bernoulli, Categorical, Independent
from likely.metrics import _numeric


def class_probabilities(predictive: Any) -> np.ndarray:
    """Predicted class probabilities, shape (n, C), from a classifier's predictive.

    Accepts a `Predictive` (or distribution) of a `Bernoulli` (C = 2: columns
    P(0), P(1)), `Categorical` or `OneHotCategorical`, or an array of
    probabilities (n,) for the positive class or (n, C) summing to one.

    Example:
        >>> import numpy as np, likely
        >>> d = likely.distributions.Bernoulli(logits=np.array([0.0, np.log(3.0)]))
        >>> likely.metrics.class_probabilities(d).round(2)
        array([[0.5 , 0.5 ],
               [0.25, 0.75]])
    """
    if isinstance(predictive, np.ndarray | list | tuple):
        probs = np.asarray(predictive, dtype=np.float64)
        if probs.ndim == 1:
            probs = np.stack([1.0 - probs, probs], axis=1)
        if probs.ndim != 2 or probs.shape[1] < 2 or not np.isfinite(probs).all():
            raise ValueError(
                "Argument `predictive` as an array must hold P(class 1) of shape (n,) or class "
                f"probabilities of shape (n, C). Received: shape {probs.shape}."
            )
        if (probs < 0).any() or not np.allclose(probs.sum(axis=1), 1.0, atol=1e-6):
            raise ValueError("Class probabilities must be non-negative and sum to 1 per row.")
        return probs
    d = _numeric.as_predictive(predictive).distribution
    if isinstance(d, Categorical):  # OneHotCategorical included
        return np.asarray(ops.convert_to_numpy(d.probs), dtype=np.float64)
    if isinstance(d, Bernoulli) and len(d.batch_shape) == 1:
        p = np.asarray(ops.convert_to_numpy(d.probs), dtype=np.float64)
        return np.stack([1.0 - p, p], axis=1)
    if isinstance(d, Independent) and isinstance(d.base, Bernoulli):
        raise ValueError(
            "Argument `predictive` holds several binary targets (Independent Bernoulli): score "
            "one target at a time, e.g. class_probabilities(probs[:, j])."
        )
    raise TypeError(
        "Classification scores need a Bernoulli, Categorical or OneHotCategorical predictive "
        f"(or an array of probabilities). Received: {d!r}."
    )


def log_loss(y_true: Any, predictive: Any, *, reduction: str = "mean") -> Any:
    """Negative log-likelihood of the true labels (cross-entropy), a strictly proper score.

    Args:
        y_true: Labels 0..C-1, shape (n,), or one-hot (n, C).
        predictive: A classifier's predictive or class probabilities (see
            `class_probabilities`).
        reduction: "mean", "sum" or "none".

    Example:
        >>> import numpy as np, likely
        >>> round(likely.metrics.log_loss(np.array([1, 0]), np.array([0.8, 0.4])), 4)
        0.367
    """
    probs = class_probabilities(predictive)
    y = _numeric.check_labels(y_true, probs.shape[0], probs.shape[1])
    picked = probs[np.arange(y.size), y]
    return _numeric.reduce(-np.log(np.maximum(picked, 1e-300)), reduction)


def brier_score(y_true: Any, predictive: Any, *, reduction: str = "mean") -> Any:
    """Brier score `sum_k (p_k - 1{y = k})^2` (Brier 1950); for two classes, twice `(p - y)^2`.

    Strictly proper, between 0 and 2. The binary convention `(p - y)^2` is
    half of it: `brier_score(...) / 2` for two classes.

    Example:
        >>> import numpy as np, likely
        >>> round(likely.metrics.brier_score(np.array([1]), np.array([0.8])), 4)
        0.08
    """
    probs = class_probabilities(predictive)
    y = _numeric.check_labels(y_true, probs.shape[0], probs.shape[1])
    one_hot = np.eye(probs.shape[1])[y]
    return _numeric.reduce(np.sum((probs - one_hot) ** 2, axis=1), reduction)


def reliability_curve(
    y_true: Any, predictive: Any, bins: int = 15
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean confidence, accuracy and count per confidence bin (the reliability diagram).

    The confidence is the predicted probability of the predicted class (for
    two classes, of class 1 — the classic binary diagram, on [0, 1]); bins
    are equal-width on the confidence range. Empty bins are dropped.

    Returns:
        `(confidence, accuracy, count)`, each of shape (B,) for the B non-empty bins.

    Example:
        >>> import numpy as np, likely
        >>> conf, acc, count = likely.metrics.reliability_curve(
        ...     np.array([1, 1, 0, 1]), np.array([0.9, 0.8, 0.1, 0.6]), bins=5)
        >>> count.tolist()
        [1, 1, 2]
    """
    if isinstance(bins, bool) or not isinstance(bins, int | np.integer) or bins < 1:
        raise ValueError(f"Argument `bins` must be a positive integer. Received: {bins!r}")
    probs = class_probabilities(predictive)
    y = _numeric.check_labels(y_true, probs.shape[0], probs.shape[1])
    if probs.shape[1] == 2:
        confidence, hit, low = probs[:, 1], (y == 1).astype(float), 0.0
    else:
        predicted = np.argmax(probs, axis=1)
        confidence = probs[np.arange(y.size), predicted]
        hit, low = (predicted == y).astype(float), 1.0 / probs.shape[1]
    edges = np.linspace(low, 1.0, bins + 1)
    index = np.clip(np.searchsorted(edges, confidence, side="right") - 1, 0, bins - 1)
    count = np.bincount(index, minlength=bins)
    keep = count > 0
    mean_conf = np.bincount(index, weights=confidence, minlength=bins)[keep] / count[keep]
    accuracy = np.bincount(index, weights=hit, minlength=bins)[keep] / count[keep]
    return mean_conf, accuracy, count[keep]


def expected_calibration_error(y_true: Any, predictive: Any, bins: int = 15) -> float:
    """ECE: the count-weighted mean |accuracy - confidence| over bins (Guo et al. 2017).

    Uses `reliability_curve`'s bins: for two classes the probability of class 1,
    for more the top-label confidence. 0 for a perfectly calibrated classifier
    (up to binning and sampling noise).

    Example:
        >>> import numpy as np, likely
        >>> y = np.array([1, 1, 0, 0])
        >>> likely.metrics.expected_calibration_error(y, np.array([1.0, 1.0, 0.0, 0.0]), bins=2)
        0.0
    """
    confidence, accuracy, count = reliability_curve(y_true, predictive, bins)
    return float(np.sum(count * np.abs(accuracy - confidence)) / np.sum(count))
