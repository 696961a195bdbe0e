"""The equal-weight mixture of ensemble members (or Monte-Carlo passes) of any family."""

from __future__ import annotations

import math

from keras import ops

from likely.distributions._bernoulli import Bernoulli
from likely.distributions._categorical import Categorical
from likely.distributions._distribution import Distribution
from likely.distributions._independent import Independent
from likely.distributions._mixture import MixtureNormal
from likely.distributions._mixture_same_family import MixtureSameFamily
from likely.distributions._normal import Normal


def mix_members(members: Distribution) -> Distribution:
    """The equal-weight mixture over the last batch axis of `members` (M members).

    `members` has batch shape `(*batch, M)`; the result has `(*batch,)`.
    Normal members (and mixtures of normals) become one `MixtureNormal` with
    every member's components (weights divided by M); mixtures of another
    family become one `MixtureSameFamily` the same way; any other continuous
    family a `MixtureSameFamily` of the M members; Bernoulli and categorical
    members the Bernoulli / categorical of their mean probabilities (which
    is what a mixture of them is).

    Example:
        >>> import numpy as np
        >>> from likely.distributions import Normal, mix_members
        >>> mix_members(Normal(np.zeros((3, 5)), np.ones((3, 5))))
        MixtureNormal(num_components=5, batch_shape=(3,), event_shape=())
    """
    if not members.batch_shape:
        raise ValueError("mix_members needs a member axis: the last batch axis.")
    batch, m = members.batch_shape[:-1], members.batch_shape[-1]
    members = members.expand_batch(members.batch_shape)
    uniform = ops.zeros(tuple(batch) + (m,))
    if isinstance(members, Normal):
        return MixtureNormal(uniform, members.loc, members.scale, validate_args=False)
    if isinstance(members, Independent) and isinstance(members.base, Normal):
        return MixtureNormal(uniform, members.base.loc, members.base.scale, validate_args=False)
    if isinstance(members, MixtureNormal | MixtureSameFamily):
        k = members.num_components
        log_w = ops.reshape(members.log_weights - math.log(m), tuple(batch) + (m * k,))
        if isinstance(members, MixtureNormal):
            loc, scale = (
                ops.reshape(a, tuple(batch) + (m * k,) + members.event_shape)
                for a in (members.parameters()["loc"], members.parameters()["scale"])
            )
            return MixtureNormal(log_w, loc, scale, validate_args=False)
        components = members.components.reshape_batch(tuple(batch) + (m * k,))
        return MixtureSameFamily(log_w, components, validate_args=False)
    if isinstance(members, Bernoulli):
        p = ops.clip(ops.mean(members.probs, axis=-1), 1e-7, 1.0 - 1e-7)
        return Bernoulli(ops.log(p) - ops.log1p(-p), validate_args=False)
    if isinstance(members, Independent) and isinstance(members.base, Bernoulli):
        p = ops.clip(ops.mean(members.base.probs, axis=-2), 1e-7, 1.0 - 1e-7)
        return Independent(Bernoulli(ops.log(p) - ops.log1p(-p), validate_args=False), 1)
    if isinstance(members, Categorical):
        probs = ops.mean(members.probs, axis=-2)
        return type(members)(ops.log(ops.maximum(probs, 1e-30)), validate_args=False)
    return MixtureSameFamily(uniform, members, validate_args=False)
