"""`DistributionLambda`: any distribution at the end of a network, from a function."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras

from likely import distributions as dist
from likely.layers._heads import DistributionHead


@keras.saving.register_keras_serializable(package="likely")
class DistributionLambda(DistributionHead):
    """A head defined by a function from the network's outputs to a likely distribution.

    The escape hatch of TFP's `DistributionLambda`, for the course's idiom

        DistributionLambda(lambda t: likely.distributions.Normal(
            loc=t[..., :1], scale=1e-3 + keras.ops.softplus(0.05 * t[..., 1:])))

    `make_distribution_fn(params)` receives this head's input tensor and must
    return a `likely.distributions.Distribution` (any family, including one
    you define yourself by subclassing `Distribution`). The loss
    `likely.losses.nll` and `likely.predict_distribution` call it. A
    distribution whose batch shape is `(batch, 1)` (from `t[..., :1]`) is
    read with one target per object.

    Saving: a function decorated with
    `@keras.saving.register_keras_serializable()` saves by name; a lambda is
    saved as bytecode, which Keras reloads only with
    `keras.saving.load_model(path, safe_mode=False)` (Keras' own rule). For
    a reusable head, prefer a registered family and
    `likely.layers.DistributionHead`.

    Args:
        make_distribution_fn: `params -> Distribution`.
        **kwargs: `ensemble_size` and base layer keyword arguments.

    Example:
        >>> import keras, numpy as np, likely
        >>> head = likely.layers.DistributionLambda(lambda t: likely.distributions.Normal(
        ...     loc=t[..., 0], scale=1e-3 + keras.ops.softplus(t[..., 1])))
        >>> model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(2), head])
        >>> model.compile(optimizer="adam", loss=likely.losses.nll)
        >>> likely.predict_distribution(model, np.zeros((3, 1))).distribution
        Normal(batch_shape=(3,), event_shape=())
    """

    def __init__(
        self,
        make_distribution_fn: Callable[[Any], dist.Distribution],
        *,
        ensemble_size: int | None = None,
        recalibration: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if isinstance(make_distribution_fn, dict):  # from a saved config
            make_distribution_fn = keras.saving.deserialize_keras_object(make_distribution_fn)
        if not callable(make_distribution_fn):
            raise TypeError(
                "Argument `make_distribution_fn` must be a function from the head's input "
                f"tensor to a likely distribution. Received: {make_distribution_fn!r}"
            )
        keras.layers.Layer.__init__(self, **kwargs)
        self.make_distribution_fn = make_distribution_fn
        self.family_class = dist.Distribution
        self.options: dict[str, Any] = {}
        self.ensemble_size = ensemble_size
        self.recalibration = recalibration
        self.target_scaling = False

    @property
    def num_params(self) -> int | None:  # type: ignore[override]
        return None

    @property
    def family(self) -> str | None:
        return None

    def build(self, input_shape: tuple) -> None:
        self._check_members(input_shape)

    def _check_members(self, input_shape: tuple) -> None:
        m = self.ensemble_size
        if m is not None and (len(input_shape) != 3 or input_shape[1] not in (None, m)):
            raise ValueError(
                f"DistributionLambda with ensemble_size={m} expects inputs of shape "
                f"(batch, {m}, P). Received: input shape {tuple(input_shape)}."
            )

    def distribution(self, params: Any) -> dist.Distribution:
        result = self.make_distribution_fn(params)
        if not isinstance(result, dist.Distribution):
            raise TypeError(
                "DistributionLambda's make_distribution_fn must return a likely distribution "
                f"(likely.distributions.Distribution). It returned {type(result).__name__}."
            )
        return result

    def align_targets(self, y_true: Any, distribution: dist.Distribution, members: bool) -> Any:
        # The course's idiom builds distributions of batch shape (batch, 1) from t[..., :1].
        if len(distribution.batch_shape) == 2 + members and distribution.batch_shape[-1] == 1:
            y = keras.ops.convert_to_tensor(y_true)
            if len(y.shape) == 1:
                y = keras.ops.expand_dims(y, -1)
            return super().align_targets(y, distribution, members)
        return super().align_targets(y_true, distribution, members)

    def get_config(self) -> dict:
        config = keras.layers.Layer.get_config(self)
        config["make_distribution_fn"] = keras.saving.serialize_keras_object(
            self.make_distribution_fn
        )
        config["ensemble_size"] = self.ensemble_size
        if self.recalibration:
            config["recalibration"] = self.recalibration
        return config

    def __repr__(self) -> str:
        return f"<DistributionLambda {getattr(self.make_distribution_fn, '__name__', '?')}>"
