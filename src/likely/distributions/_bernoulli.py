"""The Bernoulli distribution: binary targets, parameterized by logits."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from likely.distributions import _base
from likely.distributions import _constraints as constraints
from likely.distributions._distribution import Distribution
from likely.distributions._registry import register_family


@register_family("bernoulli")
class Bernoulli(Distribution):
    """Bernoulli distribution over {0, 1} with `P(Y = 1) = sigmoid(logits)`.

    `log_prob(y) = -y softplus(-logits) - (1 - y) softplus(logits)`: the
    negative binary cross-entropy, computed from logits so it neither
    overflows nor loses digits for confident predictions. The CDF and
    quantile are those of a variable on {0, 1} (the CDF jumps to `1 - p` at 0
    and to 1 at 1); `mean = p`, `variance = p (1 - p)`, `mode = 1{p > 1/2}`.

    As a head's family (`likely.layers.IndependentBernoulli(E)`) it takes
    `params_size(E) = E` logits.

    Args:
        logits: Log odds of Y = 1.
        validate_args: Check concrete logits are finite.

    Example:
        >>> import numpy as np
        >>> from likely.distributions import Bernoulli
        >>> d = Bernoulli(logits=np.array([0.0, np.log(3.0)]))
        >>> np.round(np.asarray(d.probs), 2)
        array([0.5 , 0.75], dtype=float32)
        >>> np.round(np.asarray(d.log_prob(np.array([1.0, 0.0]))), 4)
        array([-0.6931, -1.3863], dtype=float32)
    """

    arg_constraints = {"logits": constraints.real}
    support = constraints.boolean

    def __init__(self, logits: Any, *, validate_args: bool = True) -> None:
        self.logits = _base.as_float_tensor(logits)
        self._init_shapes(tuple(self.logits.shape), ())
        if validate_args:
            self._validate(logits=self.logits)

    @classmethod
    def params_size(cls, event_size: int = 1, **_: Any) -> int:
        """One logit per dimension."""
        return _base.check_positive_int("event_size", event_size)

    @classmethod
    def check_options(cls, event_size: int = 1) -> dict[str, Any]:
        return {"event_size": _base.check_positive_int("event_size", event_size)}

    @classmethod
    def from_unconstrained(cls, params: Any, event_size: int = 1) -> Distribution:
        from likely.distributions._independent import Independent

        params = _base.as_float_tensor(params)
        _base.check_params_width("bernoulli", params, cls.params_size(event_size))
        if event_size == 1:
            return cls(params[..., 0], validate_args=False)
        return Independent(cls(params, validate_args=False), 1)

    def parameters(self) -> dict[str, Any]:
        return {"logits": self.logits}

    def _param_event_ndims(self) -> dict[str, int]:
        return {"logits": 0}

    @property
    def probs(self) -> Any:
        """P(Y = 1) = sigmoid(logits)."""
        return ops.sigmoid(self.logits)

    @property
    def mean(self) -> Any:
        return self.probs

    @property
    def variance(self) -> Any:
        return ops.sigmoid(self.logits) * ops.sigmoid(-self.logits)

    @property
    def mode(self) -> Any:
        return ops.cast(self.logits > 0.0, keras.backend.floatx())

    def log_prob(self, value: Any) -> Any:
        value = _base.as_float_tensor(value)
        return -value * ops.softplus(-self.logits) - (1.0 - value) * ops.softplus(self.logits)

    def cdf(self, value: Any) -> Any:
        value = _base.as_float_tensor(value)
        below_one = ops.where(value >= 0.0, ops.sigmoid(-self.logits), 0.0)
        return ops.where(value >= 1.0, 1.0, below_one)

    def marginal_prob(self, value: Any) -> Any:
        return self.prob(value)

    def quantile(self, q: Any) -> Any:
        q = _base.as_float_tensor(q)
        return ops.cast(q > ops.sigmoid(-self.logits), keras.backend.floatx())

    def sample(self, sample_shape: int | tuple[int, ...] = (), seed: _base.SeedLike = None) -> Any:
        shape = _base.as_shape(sample_shape) + self.batch_shape
        u = keras.random.uniform(shape, seed=_base.seed_generator(seed))
        return ops.cast(u < self.probs, keras.backend.floatx())
