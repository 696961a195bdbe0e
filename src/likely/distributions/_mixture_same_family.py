"""Mixtures of K components of any one family (mixture-same-family)."""

from __future__ import annotations

import math
from typing import Any

import keras
from keras import ops

from likely.distributions import _base
from likely.distributions import _constraints as constraints
from likely.distributions._distribution import Distribution, grid_mode, search_quantile
from likely.distributions._registry import get_family, register_family


@register_family("mixture_same_family")
class MixtureSameFamily(Distribution):
    """Mixture of K components of one family: `p(y) = sum_k w_k p_k(y)`.

    As `torch.distributions.MixtureSameFamily`: `logits` has shape
    `(*batch, K)` and `components` is any likely distribution with batch
    shape `(*batch, K)`; the mixture has `batch_shape = (*batch,)` and the
    components' event shape. `log_prob` is computed in log space
    (`logsumexp`), `cdf` and `quantile` are marginal for vector events, and
    the quantile is searched inside the bracket of the components' own
    quantiles. For mixtures of normals, `MixtureNormal` is the faster
    equivalent. Deep ensembles and Monte-Carlo predictives of any family are
    equal-weight mixtures of this kind.

    As a head's family (`likely.layers.MixtureSameFamily(K, "student_t")`) it
    takes `K + K * P_c` numbers: K logits, then each component's P_c
    unconstrained parameters in turn.

    Args:
        logits: Unnormalized log weights, shape (*batch, K).
        components: A distribution with batch shape (*batch, K).
        validate_args: Check concrete logits.

    Example:
        >>> import numpy as np
        >>> from likely.distributions import MixtureSameFamily, StudentT
        >>> components = StudentT(loc=[[-2.0, 2.0]], scale=[[1.0, 1.0]], df=[[5.0, 5.0]])
        >>> d = MixtureSameFamily(np.zeros((1, 2)), components)
        >>> d.batch_shape, round(float(np.asarray(d.cdf(np.zeros(1)))[0]), 4)
        ((1,), 0.5)
    """

    arg_constraints = {"logits": constraints.real}

    def __init__(
        self, logits: Any, components: Distribution, *, validate_args: bool = True
    ) -> None:
        if not isinstance(components, Distribution):
            raise TypeError(
                "Argument `components` must be a likely distribution with batch shape "
                f"(*batch, K). Received: {type(components).__name__}."
            )
        self.logits = _base.as_float_tensor(logits)
        if len(self.logits.shape) < 1 or not components.batch_shape:
            raise ValueError(
                "Arguments `logits` (*batch, K) and `components` (batch shape (*batch, K)) "
                f"need a component axis. Received: logits shape {tuple(self.logits.shape)}, "
                f"components batch_shape {components.batch_shape}."
            )
        k = self.logits.shape[-1]
        if components.batch_shape[-1] not in (k, None):
            raise ValueError(
                f"Arguments `logits` and `components` must agree on the number of components: "
                f"logits has K={k} (shape {tuple(self.logits.shape)}), components have batch "
                f"shape {components.batch_shape}."
            )
        self.components = components
        self.support = components.support
        batch = _base.broadcast_shapes(
            logits=self.logits.shape[:-1], components=components.batch_shape[:-1]
        )
        self._init_shapes(batch, components.event_shape)
        if validate_args:
            self._validate(logits=self.logits)

    # -- the head protocol ----------------------------------------------------------
    @classmethod
    def params_size(
        cls, num_components: int, component: str = "normal", event_size: int = 1, **options: Any
    ) -> int:
        k = _base.check_positive_int("num_components", num_components)
        family = get_family(component)
        return k * (1 + family.params_size(event_size=event_size, **options))

    @classmethod
    def check_options(
        cls, num_components: int = 1, component: str = "normal", event_size: int = 1,
        **options: Any,
    ) -> dict[str, Any]:  # fmt: skip
        family = get_family(component)
        if family is MixtureSameFamily:
            raise ValueError("A mixture's components cannot themselves be mixture_same_family.")
        name = family.family if isinstance(component, type) else component
        if name is None:
            raise ValueError(
                f"Argument `component` must be a registered family name; {component!r} is not "
                "registered (likely.distributions.register_family)."
            )
        return {
            "num_components": _base.check_positive_int("num_components", num_components),
            "component": name,
            **family.check_options(event_size=event_size, **options),
        }

    @classmethod
    def from_unconstrained(
        cls,
        params: Any,
        num_components: int = 1,
        component: str = "normal",
        event_size: int = 1,
        **options: Any,
    ) -> MixtureSameFamily:
        params = _base.as_float_tensor(params)
        family = get_family(component)
        k = num_components
        size = family.params_size(event_size=event_size, **options)
        _base.check_params_width("mixture_same_family", params, k * (1 + size))
        batch = tuple(ops.shape(params)[:-1])
        raw = ops.reshape(params[..., k:], (*batch, k, size))
        components = family.from_unconstrained(raw, event_size=event_size, **options)
        return cls(params[..., :k], components, validate_args=False)

    def parameters(self) -> dict[str, Any]:
        return {"logits": self.logits, "components": self.components}

    def _param_event_ndims(self) -> dict[str, int]:
        return {"logits": 1, "components": 1}

    # -- weights ------------------------------------------------------------------
    @property
    def num_components(self) -> int:
        return int(self.logits.shape[-1])

    @property
    def log_weights(self) -> Any:
        """log_softmax(logits), shape (*batch, K)."""
        return ops.log_softmax(self.logits, axis=-1)

    @property
    def weights(self) -> Any:
        return ops.exp(self.log_weights)

    @property
    def component_distribution(self) -> Distribution:
        return self.components

    def _pad(self, value: Any) -> Any:
        """(*b, *event) -> (*b, 1, *event): broadcast against the component axis."""
        return ops.expand_dims(_base.as_float_tensor(value), -1 - len(self.event_shape))

    def _weighted_sum(self, per_component: Any) -> Any:
        """sum_k w_k x_k for x of shape (*b, K, *event)."""
        w = self.weights
        for _ in self.event_shape:
            w = ops.expand_dims(w, -1)
        return ops.sum(w * per_component, axis=-1 - len(self.event_shape))

    # -- moments ------------------------------------------------------------------
    @property
    def mean(self) -> Any:
        return self._weighted_sum(self.components.mean)

    @property
    def variance(self) -> Any:
        mean = ops.expand_dims(self.mean, -1 - len(self.event_shape))
        spread = self.components.variance + ops.square(self.components.mean - mean)
        return self._weighted_sum(spread)

    @property
    def mode(self) -> Any:
        """The highest peak, searched on grids around every component's mode (scalar events)."""
        if self.event_shape:
            raise NotImplementedError("MixtureSameFamily.mode is for scalar events.")
        starts = ops.moveaxis(self.components.mode, -1, 0)  # (K, *b)
        spread = ops.moveaxis(self._component_spread(), -1, 0)
        return grid_mode(self, starts, spread)

    def _component_spread(self) -> Any:
        """A width per component for the mode search: its interquartile range."""
        levels = ops.reshape(
            _base.as_float_tensor([0.25, 0.75]), (2,) + (1,) * len(self.components.batch_shape)
        )
        quartiles = self.components.quantile(levels)
        return ops.maximum(quartiles[1] - quartiles[0], 1e-6)

    # -- densities ------------------------------------------------------------------
    def log_prob(self, value: Any) -> Any:
        return ops.logsumexp(self.log_weights + self.components.log_prob(self._pad(value)), -1)

    def cdf(self, value: Any) -> Any:
        return self._weighted_sum(self.components.cdf(self._pad(value)))

    def survival_function(self, value: Any) -> Any:
        return self._weighted_sum(self.components.survival_function(self._pad(value)))

    def marginal_prob(self, value: Any) -> Any:
        return self._weighted_sum(self.components.marginal_prob(self._pad(value)))

    def quantile(self, q: Any) -> Any:
        """Searched between the smallest and largest of the components' q-quantiles."""
        p, upper_side = _base.tail_probability(q)
        # The components' quantiles at the same tail probability bracket the mixture's.
        mask = ops.expand_dims(ops.convert_to_tensor(upper_side), -1 - len(self.event_shape))
        tail = (self._pad(ops.clip(p, 1e-37, 0.5)), mask)  # the mask stays boolean
        per_component = self.components.quantile(tail)  # (..., K, *event)
        axis = -1 - len(self.event_shape)
        lower = ops.min(per_component, axis=axis)
        upper = ops.max(per_component, axis=axis)
        start = self._weighted_sum(per_component)
        x = search_quantile(self, (p, upper_side), lower, upper, start)
        x = ops.where((p <= 0.0) & ~upper_side, self._end(x, lower=True), x)
        return ops.where((p <= 0.0) & upper_side, self._end(x, lower=False), x)

    def _end(self, x: Any, lower: bool) -> Any:
        bound = self.support.lower if lower else self.support.upper
        if math.isinf(bound):
            return ops.full_like(x, bound)
        ends = self.components.quantile(self._pad(ops.full_like(x, 0.0 if lower else 1.0)))
        axis = -1 - len(self.event_shape)
        return ops.min(ends, axis=axis) if lower else ops.max(ends, axis=axis)

    def sample(self, sample_shape: int | tuple[int, ...] = (), seed: _base.SeedLike = None) -> Any:
        """Gumbel-max choice of a component, then a draw from it (one seed drives both)."""
        generator = _base.seed_generator(seed)
        shape = _base.as_shape(sample_shape)
        k = self.num_components
        u = keras.random.uniform(
            shape + self.batch_shape + (k,), minval=1e-12, maxval=1.0, seed=generator
        )
        index = ops.argmax(self.logits - ops.log(-ops.log(u)), axis=-1)
        one_hot = ops.one_hot(index, k)  # (*s, *b, K)
        for _ in self.event_shape:
            one_hot = ops.expand_dims(one_hot, -1)
        draws = self.components.sample(shape, seed=generator)  # (*s, *b, K, *event)
        return ops.sum(one_hot * draws, axis=-1 - len(self.event_shape))

    def __repr__(self) -> str:
        return (
            f"MixtureSameFamily({type(self.components).__name__} x {self.num_components}, "
            f"batch_shape={self.batch_shape}, event_shape={self.event_shape})"
        )
