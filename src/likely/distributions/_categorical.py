"""Categorical distributions over C classes: integer labels, or one-hot vectors as in TFP."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from likely.distributions import _base
from likely.distributions import _constraints as constraints
from likely.distributions._distribution import Distribution
from likely.distributions._registry import register_family


@register_family("categorical")
class Categorical(Distribution):
    """Categorical distribution over the labels 0 .. C-1, with `P(Y = k) = softmax(logits)_k`.

    `logits` has shape `(*batch, C)`; values are integer labels of shape
    `batch_shape` (`event_shape = ()`), as in `torch.distributions.Categorical`.
    `log_prob` is the negative cross-entropy, from `log_softmax`. `probs`
    gives the class probabilities; `mode` the most probable label. Classes
    are nominal, so there is no mean, CDF or quantile.

    As a head's family it takes `params_size(num_classes) = C` logits; see
    also `OneHotCategorical`, whose values are one-hot vectors.

    Args:
        logits: Unnormalized log probabilities, shape (*batch, C).
        validate_args: Check concrete logits are finite.

    Example:
        >>> import numpy as np
        >>> from likely.distributions import Categorical
        >>> d = Categorical(logits=np.log([[0.2, 0.3, 0.5]]))
        >>> int(np.asarray(d.mode)[0]), np.round(np.asarray(d.log_prob(np.array([2]))), 4)
        (2, array([-0.6931], dtype=float32))
    """

    arg_constraints = {"logits": constraints.real}

    def __init__(self, logits: Any, *, validate_args: bool = True) -> None:
        self.logits = _base.as_float_tensor(logits)
        if len(self.logits.shape) < 1 or (self.logits.shape[-1] or 2) < 2:
            raise ValueError(
                "Argument `logits` must have a class axis of at least 2 classes, shape "
                f"(*batch, C). Received: shape {tuple(self.logits.shape)}."
            )
        self.support = constraints.integer_interval(0, int(self.logits.shape[-1]) - 1)
        self._init_event()
        if validate_args:
            self._validate(logits=self.logits)

    def _init_event(self) -> None:
        self._init_shapes(tuple(self.logits.shape[:-1]), ())

    @classmethod
    def params_size(cls, num_classes: int = 2, **_: Any) -> int:
        """One logit per class."""
        return _base.check_positive_int("num_classes", num_classes)

    @classmethod
    def check_options(cls, num_classes: int = 2) -> dict[str, Any]:
        classes = _base.check_positive_int("num_classes", num_classes)
        if classes < 2:
            raise ValueError(f"Argument `num_classes` must be >= 2. Received: {num_classes!r}")
        return {"num_classes": classes}

    @classmethod
    def from_unconstrained(cls, params: Any, num_classes: int = 2) -> Distribution:
        params = _base.as_float_tensor(params)
        _base.check_params_width(cls.family or "categorical", params, num_classes)
        return cls(params, validate_args=False)

    def parameters(self) -> dict[str, Any]:
        return {"logits": self.logits}

    def _param_event_ndims(self) -> dict[str, int]:
        return {"logits": 1}

    @property
    def num_classes(self) -> int:
        return int(self.logits.shape[-1])

    @property
    def log_probs(self) -> Any:
        """log_softmax(logits), shape (*batch, C)."""
        return ops.log_softmax(self.logits, axis=-1)

    @property
    def probs(self) -> Any:
        """Class probabilities, shape (*batch, C)."""
        return ops.softmax(self.logits, axis=-1)

    @property
    def mode(self) -> Any:
        return ops.argmax(self.logits, axis=-1)

    def log_prob(self, value: Any) -> Any:
        """Log probability of the integer labels `value` (broadcast against the batch)."""
        labels = ops.cast(ops.convert_to_tensor(value), "int32")
        one_hot = ops.one_hot(labels, self.num_classes)
        return ops.sum(one_hot * self.log_probs, axis=-1)

    def sample(self, sample_shape: int | tuple[int, ...] = (), seed: _base.SeedLike = None) -> Any:
        """Labels by the Gumbel-max trick, shape `sample_shape + batch_shape`."""
        shape = _base.as_shape(sample_shape) + self.batch_shape + (self.num_classes,)
        u = keras.random.uniform(shape, minval=1e-12, maxval=1.0, seed=_base.seed_generator(seed))
        return ops.argmax(self.logits - ops.log(-ops.log(u)), axis=-1)


@register_family("one_hot_categorical")
class OneHotCategorical(Categorical):
    """Categorical distribution whose values are one-hot vectors, as TFP's `OneHotCategorical`.

    `event_shape = (C,)`; `log_prob(y) = sum_k y_k log p_k` (for soft labels,
    the negative cross-entropy), `mean = probs`, `variance = p (1 - p)`,
    `mode` and `sample` are one-hot vectors. The head
    `likely.layers.OneHotCategorical(C)` returns it, so `compile(loss=nll)`
    takes one-hot targets like Keras' `categorical_crossentropy`.

    Example:
        >>> import numpy as np
        >>> from likely.distributions import OneHotCategorical
        >>> d = OneHotCategorical(logits=np.log([[0.2, 0.8]]))
        >>> np.asarray(d.mode), np.round(np.asarray(d.log_prob(np.array([[0.0, 1.0]]))), 4)
        (array([[0., 1.]], dtype=float32), array([-0.2231], dtype=float32))
    """

    def _init_event(self) -> None:
        self.support = constraints.simplex
        self._init_shapes(tuple(self.logits.shape[:-1]), (int(self.logits.shape[-1]),))

    @property
    def mean(self) -> Any:
        return self.probs

    @property
    def variance(self) -> Any:
        p = self.probs
        return p * (1.0 - p)

    @property
    def mode(self) -> Any:
        return ops.one_hot(ops.argmax(self.logits, axis=-1), self.num_classes)

    def log_prob(self, value: Any) -> Any:
        return ops.sum(_base.as_float_tensor(value) * self.log_probs, axis=-1)

    def sample(self, sample_shape: int | tuple[int, ...] = (), seed: _base.SeedLike = None) -> Any:
        return ops.one_hot(super().sample(sample_shape, seed=seed), self.num_classes)
