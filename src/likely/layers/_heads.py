"""Probabilistic heads: turn a parameter tensor into constrained distribution parameters.

Named after the TensorFlow Probability layers the course used, so that

    Dense(MixtureNormal.params_size(5, 1)), MixtureNormal(5, 1)

works as it did there. Keras layers must return tensors, so a head returns the
packed parameters of its distribution (see `likely.distributions.unpack_params`);
`likely.losses.nll` and `likely.predict_distribution` read them back.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from likely.distributions import pack_params

DEFAULT_MIN_SCALE = 1e-6


def _check_positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"Argument `{name}` must be a positive integer. Received: {name}={value!r}")
    return value


def _check_min_scale(value: Any) -> float:
    if not isinstance(value, int | float) or not value >= 0:
        raise ValueError(
            f"Argument `min_scale` must be a non-negative number. Received: min_scale={value!r}"
        )
    return float(value)


def _check_input_width(layer: keras.Layer, input_shape: tuple, expected: int) -> None:
    if input_shape[-1] is not None and input_shape[-1] != expected:
        raise ValueError(
            f"{type(layer).__name__} expects inputs whose last axis has "
            f"{type(layer).__name__}.params_size(...) = {expected} units. Received: input "
            f"shape {tuple(input_shape)}. Put a Dense({expected}) layer before the head."
        )


def _positive_scale(raw: Any, min_scale: float) -> Any:
    return ops.softplus(raw) + min_scale


@keras.saving.register_keras_serializable(package="likely")
class IndependentNormal(keras.layers.Layer):
    """Gaussian head: `event_size` independent normals.

    Takes `params_size(event_size) = 2 * event_size` inputs: the locations,
    then unconstrained scales mapped through `softplus(x) + min_scale`.

    Args:
        event_size: Number of target dimensions E.
        min_scale: Floor added to every scale, keeping the likelihood bounded.
        **kwargs: Base layer keyword arguments (`name`, `dtype`, ...).

    Output:
        The packed parameters, shape `(batch, 1, 1 + 2E)` (see
        `likely.distributions.unpack_params`).

    Example:
        >>> import keras, likely
        >>> model = keras.Sequential([
        ...     keras.Input((3,)),
        ...     keras.layers.Dense(likely.layers.IndependentNormal.params_size(1)),
        ...     likely.layers.IndependentNormal(1),
        ... ])
        >>> model.output_shape
        (None, 1, 3)
    """

    def __init__(
        self, event_size: int = 1, *, min_scale: float = DEFAULT_MIN_SCALE, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.event_size = _check_positive_int("event_size", event_size)
        self.min_scale = _check_min_scale(min_scale)

    @staticmethod
    def params_size(event_size: int = 1) -> int:
        """Number of inputs the head needs: E locations and E scales."""
        return 2 * _check_positive_int("event_size", event_size)

    def build(self, input_shape: tuple) -> None:
        _check_input_width(self, input_shape, self.params_size(self.event_size))

    def call(self, inputs: Any) -> Any:
        e = self.event_size
        loc = ops.expand_dims(inputs[..., :e], -2)  # (b, 1, E)
        scale = ops.expand_dims(_positive_scale(inputs[..., e:], self.min_scale), -2)
        logits = ops.zeros_like(loc[..., 0])  # (b, 1)
        return pack_params(logits, loc, scale)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape[:-1]) + (1, 1 + 2 * self.event_size)

    def get_config(self) -> dict:
        return {**super().get_config(), "event_size": self.event_size, "min_scale": self.min_scale}


@keras.saving.register_keras_serializable(package="likely")
class MixtureNormal(keras.layers.Layer):
    """Mixture density head: K normal components over `event_size` dimensions.

    Takes `params_size(K, E) = K * (1 + 2E)` inputs in the TFP layout: K
    logits, then K*E locations, then K*E unconstrained scales (mapped through
    `softplus(x) + min_scale`).

    Args:
        num_components: Number of mixture components K.
        event_size: Number of target dimensions E.
        min_scale: Floor added to every scale.
        **kwargs: Base layer keyword arguments.

    Output:
        The packed parameters, shape `(batch, K, 1 + 2E)`.

    Example:
        >>> import keras, likely
        >>> model = keras.Sequential([
        ...     keras.Input((3,)),
        ...     keras.layers.Dense(likely.layers.MixtureNormal.params_size(5, 1)),
        ...     likely.layers.MixtureNormal(5, 1),
        ... ])
        >>> model.output_shape
        (None, 5, 3)
    """

    def __init__(
        self,
        num_components: int,
        event_size: int = 1,
        *,
        min_scale: float = DEFAULT_MIN_SCALE,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.num_components = _check_positive_int("num_components", num_components)
        self.event_size = _check_positive_int("event_size", event_size)
        self.min_scale = _check_min_scale(min_scale)

    @staticmethod
    def params_size(num_components: int, event_size: int = 1) -> int:
        """Number of inputs the head needs: K logits, K*E locations, K*E scales."""
        k = _check_positive_int("num_components", num_components)
        e = _check_positive_int("event_size", event_size)
        return k * (1 + 2 * e)

    def build(self, input_shape: tuple) -> None:
        _check_input_width(self, input_shape, self.params_size(self.num_components, self.event_size))

    def call(self, inputs: Any) -> Any:
        k, e = self.num_components, self.event_size
        batch = ops.shape(inputs)[:-1]
        logits = inputs[..., :k]
        loc = ops.reshape(inputs[..., k : k + k * e], (*batch, k, e))
        raw_scale = ops.reshape(inputs[..., k + k * e :], (*batch, k, e))
        return pack_params(logits, loc, _positive_scale(raw_scale, self.min_scale))

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape[:-1]) + (self.num_components, 1 + 2 * self.event_size)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "num_components": self.num_components,
            "event_size": self.event_size,
            "min_scale": self.min_scale,
        }
