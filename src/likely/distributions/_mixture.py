"""Mixtures of normals, the workhorse of likely (heads, ensembles, MC predictives)."""

from __future__ import annotations

import math
from typing import Any

import keras
from keras import ops

from likely.distributions import _base

# Most steps of the quantile root-finder. A Newton step is kept only inside the
# bracket and when it at least halves |F(x) - q|; otherwise the bracket is
# bisected, so the search cannot cycle. On concrete (not traced) values it stops
# once every element has converged, usually after a handful of steps.
_QUANTILE_STEPS = 60
_QUANTILE_CHECK_EVERY = 3


class MixtureNormal:
    """Mixture of K normals, optionally over independent event dimensions.

    Shapes (the component axis K sits just before the event axis):

    - scalar events: `logits (*batch, K)`, `loc` and `scale (*batch, K)`,
      giving `event_shape = ()`;
    - vector events: `logits (*batch, K)`, `loc` and `scale (*batch, K, E)`,
      giving `event_shape = (E,)`: within a component the E dimensions are
      independent normals, the mixture couples them.

    All maths is in log space (`log_softmax`, `logsumexp`), so `log_prob` and
    its gradient stay finite for standardized residuals of 1e4 and more.
    For vector events `cdf` and `quantile` are per-dimension marginals and
    `log_prob` is the joint density.

    Args:
        logits: Unnormalized log mixture weights.
        loc: Component means.
        scale: Component standard deviations, strictly positive.
        validate_args: Check concrete parameters (finite, `scale > 0`, shapes).

    Example:
        >>> import numpy as np
        >>> from likely.distributions import MixtureNormal
        >>> d = MixtureNormal(np.log([[0.5, 0.5]]), [[-1.0, 1.0]], [[0.5, 0.5]])
        >>> d.batch_shape, d.event_shape
        ((1,), ())
        >>> float(np.asarray(d.mean)[0]), round(float(np.asarray(d.variance)[0]), 4)
        (0.0, 1.25)
        >>> q = d.quantile(0.8)
        >>> round(float(np.asarray(d.cdf(q))[0]), 6)
        0.8
    """

    def __init__(self, logits: Any, loc: Any, scale: Any, *, validate_args: bool = True) -> None:
        self.logits = _base.as_float_tensor(logits)
        self.loc = _base.as_float_tensor(loc)
        self.scale = _base.as_float_tensor(scale)
        logits_rank = len(self.logits.shape)
        if logits_rank < 1:
            raise ValueError(
                "Argument `logits` must have a component axis (shape (..., K)). "
                f"Received: logits with shape {tuple(self.logits.shape)}."
            )
        loc_rank = len(self.loc.shape)
        if loc_rank not in (logits_rank, logits_rank + 1):
            raise ValueError(
                "Argument `loc` must have shape (..., K) like `logits` (scalar events) or "
                f"(..., K, E) (vector events). Received: logits with shape "
                f"{tuple(self.logits.shape)} and loc with shape {tuple(self.loc.shape)}."
            )
        self._scalar_event = loc_rank == logits_rank
        if self._scalar_event:
            self.loc = ops.expand_dims(self.loc, -1)
            self.scale = ops.expand_dims(self.scale, -1)
        # Internally: logits (*b, K); loc, scale (*b, K, E).
        component_shape = _base.broadcast_shapes(loc=self.loc.shape, scale=self.scale.shape)
        num_components = self.logits.shape[-1]
        if component_shape[-2] not in (num_components, 1):
            raise ValueError(
                f"Arguments `logits` and `loc` must agree on the number of components K, "
                f"but logits has K={num_components} (shape {tuple(self.logits.shape)}) and "
                f"loc/scale have K={component_shape[-2]} (shape {component_shape})."
            )
        self._batch_shape = _base.broadcast_shapes(
            logits=self.logits.shape[:-1], loc=component_shape[:-2]
        )
        self._event_size = component_shape[-1]
        if validate_args:
            _base.check_finite("logits", self.logits)
            _base.check_finite("loc", self.loc)
            _base.check_positive("scale", self.scale)

    # -- shapes -----------------------------------------------------------------
    @property
    def batch_shape(self) -> tuple[int, ...]:
        return self._batch_shape

    @property
    def event_shape(self) -> tuple[int, ...]:
        return () if self._scalar_event else (self._event_size,)

    @property
    def num_components(self) -> int:
        return int(self.logits.shape[-1])

    def _to_event(self, x: Any) -> Any:
        """(*b, E) internal layout -> the public event layout."""
        return ops.squeeze(x, -1) if self._scalar_event else x

    def _from_event(self, value: Any) -> Any:
        """Public value (*b, *event) -> (*b, 1, E), broadcastable against components."""
        value = _base.as_float_tensor(value)
        if self._scalar_event:
            value = ops.expand_dims(value, -1)
        return ops.expand_dims(value, -2)

    # -- moments ----------------------------------------------------------------
    @property
    def weights(self) -> Any:
        """Normalized mixture weights, shape (*batch, K)."""
        return ops.exp(self.log_weights)

    @property
    def log_weights(self) -> Any:
        """Log mixture weights, `log_softmax(logits)`, shape (*batch, K)."""
        if self.num_components == 1:
            return ops.zeros_like(self.logits)
        return ops.log_softmax(self.logits, axis=-1)

    def _mean_internal(self) -> Any:
        w = ops.expand_dims(self.weights, -1)  # (*b, K, 1)
        return ops.sum(w * self.loc, axis=-2)  # (*b, E)

    @property
    def mean(self) -> Any:
        return self._to_event(self._broadcast_event(self._mean_internal()))

    @property
    def variance(self) -> Any:
        # Law of total variance, written around the mean to avoid cancellation.
        w = ops.expand_dims(self.weights, -1)  # (*b, K, 1)
        mean = ops.expand_dims(self._mean_internal(), -2)  # (*b, 1, E)
        var = ops.sum(w * (ops.square(self.scale) + ops.square(self.loc - mean)), axis=-2)
        return self._to_event(self._broadcast_event(var))

    @property
    def stddev(self) -> Any:
        return ops.sqrt(self.variance)

    def _broadcast_event(self, x: Any) -> Any:
        return ops.broadcast_to(x, self.batch_shape + (self._event_size,))

    # -- densities --------------------------------------------------------------
    def component_log_prob(self, value: Any) -> Any:
        """log N(value | loc_k, scale_k) per component, joint over events: (*batch, K)."""
        value = self._from_event(value)
        z = (value - self.loc) / self.scale
        return ops.sum(_base.normal_log_pdf(z, self.scale), axis=-1)

    def log_prob(self, value: Any) -> Any:
        """Log density of the mixture at `value`, shape (*batch,)."""
        return ops.logsumexp(self.log_weights + self.component_log_prob(value), axis=-1)

    def prob(self, value: Any) -> Any:
        return ops.exp(self.log_prob(value))

    def _cdf_and_pdf(self, value: Any) -> tuple[Any, Any]:
        """Marginal CDF and density per event dimension, both (*b, E)."""
        z = (self._from_event(value) - self.loc) / self.scale  # (*b, K, E)
        w = ops.expand_dims(self.weights, -1)
        cdf = ops.sum(w * _base.normal_cdf(z), axis=-2)
        pdf = ops.sum(w * ops.exp(_base.normal_log_pdf(z, self.scale)), axis=-2)
        return cdf, pdf

    def cdf(self, value: Any) -> Any:
        """Marginal cumulative distribution function at `value`."""
        return self._to_event(self._cdf_and_pdf(value)[0])

    def quantile(self, q: Any) -> Any:
        """Marginal inverse CDF, found by a vectorized safeguarded Newton search.

        The q-quantile of a mixture lies between the smallest and largest of
        its components' q-quantiles; Newton steps that leave this (shrinking)
        bracket are replaced by bisection, so the search always converges.
        """
        q = _base.as_float_tensor(q)
        target_shape = _base.broadcast_shapes(
            q=q.shape, distribution=self.batch_shape + self.event_shape
        )
        q_internal = ops.broadcast_to(q, target_shape)
        if self._scalar_event:
            q_internal = ops.expand_dims(q_internal, -1)
        q_clipped = ops.clip(q_internal, 1e-30, 1.0 - 1e-7)
        component_q = self.loc + self.scale * _base.normal_quantile(
            ops.expand_dims(q_clipped, -2)
        )  # (*b, K, E)
        lo = ops.min(component_q, axis=-2)
        hi = ops.max(component_q, axis=-2)
        w = ops.expand_dims(self.weights, -1)
        x = ops.sum(w * component_q, axis=-2)
        interior = (q_internal > 0.0) & (q_internal < 1.0)
        residual = ops.ones_like(x)
        for step in range(_QUANTILE_STEPS):
            cdf, pdf = self._cdf_and_pdf(self._to_event(x))
            if step % _QUANTILE_CHECK_EVERY == _QUANTILE_CHECK_EVERY - 1 and _converged(
                cdf, q_internal, x, lo, hi, interior
            ):
                break
            below = cdf < q_internal
            lo = ops.where(below, x, lo)
            hi = ops.where(below, hi, x)
            newton = x - (cdf - q_internal) / ops.maximum(pdf, 1e-30)
            # Newton may cycle on a non-convex CDF: when the last step did not at
            # least halve |F(x) - q|, bisect instead.
            progress = ops.abs(cdf - q_internal) <= 0.5 * residual
            residual = ops.abs(cdf - q_internal)
            inside = (newton > lo) & (newton < hi) & progress
            x = ops.where(inside, newton, 0.5 * (lo + hi))
        x = ops.where(q_internal <= 0.0, -math.inf, x)
        x = ops.where(q_internal >= 1.0, math.inf, x)
        return self._to_event(x)

    # -- sampling ---------------------------------------------------------------
    def sample(
        self, sample_shape: int | tuple[int, ...] = (), seed: _base.SeedLike = None
    ) -> Any:
        """Draws samples of shape `sample_shape + batch_shape + event_shape`.

        The component is picked with the Gumbel-max trick, then a normal draw
        is taken from it; one seed drives both draws.
        """
        generator = _base.seed_generator(seed)
        shape = _base.as_shape(sample_shape)
        k = self.num_components
        u = keras.random.uniform(
            shape + self.batch_shape + (k,), minval=1e-12, maxval=1.0, seed=generator
        )
        gumbel = -ops.log(-ops.log(u))
        index = ops.argmax(self.logits + gumbel, axis=-1)
        one_hot = ops.expand_dims(ops.one_hot(index, k), -1)  # (*s, *b, K, 1)
        loc = ops.sum(one_hot * self.loc, axis=-2)
        scale = ops.sum(one_hot * self.scale, axis=-2)
        eps = keras.random.normal(shape + self.batch_shape + (self._event_size,), seed=generator)
        return self._to_event(loc + scale * eps)

    def __repr__(self) -> str:
        return (
            f"MixtureNormal(num_components={self.num_components}, "
            f"batch_shape={self.batch_shape}, event_shape={self.event_shape})"
        )


def _converged(cdf: Any, q: Any, x: Any, lo: Any, hi: Any, interior: Any) -> bool:
    """True when every interior element has its CDF within 1e-7 of q or a float-width bracket.

    Only on concrete values; inside a traced function it returns False and the
    search runs its full number of steps.
    """
    resolved = (ops.abs(cdf - q) <= 1e-7) | ((hi - lo) <= 2.5e-7 * (1.0 + ops.abs(x)))
    done = _base.concrete_numpy(ops.all(resolved | ~interior))
    return bool(done) if done is not None else False
