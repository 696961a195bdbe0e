"""The packed parameter tensor that likely's heads output and its losses read.

A head's output is one tensor of shape `(*batch, K, 1 + 2E)`: for each of K
components the mixture logit, E locations and E (already positive) scales.
A Gaussian head is the K = 1 case with logit 0. Ensembles add a member axis
before K: `(*batch, M, K, 1 + 2E)`. Because K and E are read off the shape,
the loss needs no other information about the head that made `y_pred`.
"""

from __future__ import annotations

from typing import Any

from keras import ops

from likely.distributions._mixture import MixtureNormal


def pack_params(logits: Any, loc: Any, scale: Any) -> Any:
    """`logits (*b, K)`, `loc`/`scale (*b, K, E)` -> packed `(*b, K, 1 + 2E)`."""
    return ops.concatenate([ops.expand_dims(logits, -1), loc, scale], axis=-1)


def event_size_of(params: Any) -> int:
    """Number of event dimensions E encoded in a packed tensor's last axis."""
    width = params.shape[-1]
    if width is None or width < 3 or width % 2 == 0 or len(params.shape) < 2:
        raise ValueError(
            "Expected a packed likely head output of shape (..., K, 1 + 2E) with an odd "
            f"last axis >= 3. Received: shape {tuple(params.shape)}. Does the model end "
            "in a likely head (likely.layers.IndependentNormal or MixtureNormal)?"
        )
    return (width - 1) // 2


def unpack_params(params: Any, *, validate_args: bool = False) -> MixtureNormal:
    """Packed `(*b, K, 1 + 2E)` -> `MixtureNormal` with batch shape `*b`.

    Event size 1 gives scalar events (`event_shape == ()`).

    Example:
        >>> import numpy as np
        >>> from likely.distributions import unpack_params
        >>> d = unpack_params(np.array([[[0.0, 1.0, 2.0]]]))
        >>> d.batch_shape, d.event_shape, float(np.asarray(d.stddev)[0])
        ((1,), (), 2.0)
    """
    params = ops.convert_to_tensor(params)
    e = event_size_of(params)
    logits = params[..., 0]
    loc = params[..., 1 : 1 + e]
    scale = params[..., 1 + e :]
    if e == 1:
        loc, scale = loc[..., 0], scale[..., 0]
    return MixtureNormal(logits, loc, scale, validate_args=validate_args)
