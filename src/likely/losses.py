"""Losses: the negative log-likelihood of whatever likely head produced `y_pred`."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from likely._keras_compat import in_symbolic_scope
from likely.layers import DistributionHead, head_of

_NO_HEAD = (
    "likely.losses.nll could not tell which distribution y_pred (shape {shape}) "
    "parameterizes: it was not produced by a likely head, or Keras transformed it on the way "
    "(e.g. squeezed an axis of size 1, or cast it under a mixed-precision policy). End the "
    "model in a likely head (likely.layers.IndependentNormal, MixtureNormal, DistributionHead, "
    "...), or name the head: loss=likely.losses.NegativeLogLikelihood(head=<the head layer>)."
)


def nll(y_true: Any, y_pred: Any) -> Any:
    """Negative log-likelihood of `y_true` under the distribution the head output `y_pred` gives.

    `y_pred` is the output of a likely head (`likely.layers.IndependentNormal`,
    `MixtureNormal`, `IndependentStudentT`, ..., `DistributionLambda`): the
    head tags its output, and the loss asks that head for the distribution —
    it never guesses a family from a shape. For an ensemble (an
    `EnsembleDense` before the head) the loss is the mean of the members'
    NLLs, on one model's scale. `y_true` has shape `(batch,)` or
    `(batch, 1)` for a scalar target, `(batch, E)` for E targets.

    Returns:
        The per-example loss, shape `(batch,)`; Keras averages it.

    Raises:
        ValueError: If `y_pred` carries no head (the message names the fixes).

    Example:
        >>> import numpy as np, likely
        >>> head = likely.layers.IndependentNormal(1)
        >>> y_pred = head(np.array([[0.0, 0.5397]]))  # loc 0, scale softplus(0.5397) + 1e-3 = 1
        >>> round(float(np.asarray(likely.losses.nll(np.array([0.0]), y_pred))[0]), 3)
        0.919
    """
    head = head_of(y_pred)
    if head is None:
        if in_symbolic_scope():
            # Keras traces the loss once for its output shape while building the
            # model; placeholder tensors carry no tag there.
            return ops.zeros(ops.shape(y_pred)[:1], dtype=keras.backend.floatx())
        raise ValueError(_NO_HEAD.format(shape=tuple(y_pred.shape)))
    return head.nll(y_true, y_pred)


@keras.saving.register_keras_serializable(package="likely")
class NegativeLogLikelihood(keras.losses.Loss):
    """Loss class over `nll`, optionally bound to a head.

    `NegativeLogLikelihood()` is `nll` (the head is read from `y_pred`'s tag);
    `NegativeLogLikelihood(head=layer)` uses that head whatever Keras did to
    `y_pred` on its way to the loss (for multi-output models, mixed
    precision, or any case where the tag is lost).

    Args:
        head: The likely head whose outputs `y_pred` are, or None.
        reduction: Keras reduction (default `"sum_over_batch_size"`).
        name: Name of the loss.

    Example:
        >>> import likely
        >>> likely.losses.NegativeLogLikelihood().name
        'negative_log_likelihood'
    """

    def __init__(
        self,
        head: DistributionHead | None = None,
        reduction: str = "sum_over_batch_size",
        name: str = "negative_log_likelihood",
    ) -> None:
        super().__init__(name=name, reduction=reduction)
        if head is not None and not isinstance(head, DistributionHead):
            raise TypeError(
                f"Argument `head` must be a likely head layer. Received: {type(head).__name__}"
            )
        self.head = head

    def call(self, y_true: Any, y_pred: Any) -> Any:
        if self.head is not None:
            return self.head.nll(y_true, y_pred)
        return nll(y_true, y_pred)

    def get_config(self) -> dict:
        # A bound head is part of the model, not of the loss's config: a reloaded model
        # compiles with the unbound loss, which reads the head from y_pred.
        return {"name": self.name, "reduction": self.reduction}


keras.saving.register_keras_serializable(package="likely", name="nll")(nll)

__all__ = ["NegativeLogLikelihood", "nll"]
