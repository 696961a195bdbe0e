"""Losses: the negative log-likelihood of whatever likely head produced `y_pred`."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from likely.distributions import unpack_params


def nll(y_true: Any, y_pred: Any) -> Any:
    """Negative log-likelihood of `y_true` under the head output `y_pred`.

    `y_pred` is the packed output of a likely head, shape `(batch, K, 1 + 2E)`,
    or of an ensemble, `(batch, M, K, 1 + 2E)`; for an ensemble the member
    NLLs are summed, so members train independently inside one model.
    `y_true` has shape `(batch,)` or `(batch, E)`.

    Returns:
        The per-example loss, shape `(batch,)`; Keras averages it.

    Example:
        >>> import numpy as np, likely
        >>> y_pred = np.array([[[0.0, 0.0, 1.0]]])  # one N(0, 1)
        >>> round(float(np.asarray(likely.losses.nll(np.array([0.0]), y_pred))[0]), 4)
        0.9189
    """
    y_pred = ops.convert_to_tensor(y_pred)
    distribution = unpack_params(y_pred)
    batch_shape = distribution.batch_shape
    y_true = ops.cast(ops.convert_to_tensor(y_true), y_pred.dtype)
    # (batch,) + one broadcast axis per extra batch axis (ensemble members) + event.
    target_shape = (-1,) + (1,) * (len(batch_shape) - 1) + distribution.event_shape
    y_true = ops.reshape(y_true, target_shape)
    log_prob = distribution.log_prob(y_true)
    if len(batch_shape) > 1:
        log_prob = ops.sum(ops.reshape(log_prob, (ops.shape(log_prob)[0], -1)), axis=-1)
    return -log_prob


@keras.saving.register_keras_serializable(package="likely")
class NegativeLogLikelihood(keras.losses.Loss):
    """Loss class over `nll`, for `compile(loss=NegativeLogLikelihood())`.

    Args:
        reduction: Keras reduction (default `"sum_over_batch_size"`).
        name: Name of the loss.

    Example:
        >>> import likely
        >>> likely.losses.NegativeLogLikelihood().name
        'negative_log_likelihood'
    """

    def __init__(
        self, reduction: str = "sum_over_batch_size", name: str = "negative_log_likelihood"
    ) -> None:
        super().__init__(name=name, reduction=reduction)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        return nll(y_true, y_pred)

    def get_config(self) -> dict:
        return {"name": self.name, "reduction": self.reduction}


keras.saving.register_keras_serializable(package="likely", name="nll")(nll)

__all__ = ["NegativeLogLikelihood", "nll"]
