"""`ClipToRange`: clips each input feature to a fixed interval (the training range)."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="likely")
class ClipToRange(keras.layers.Layer):
    """Clips feature `j` of its inputs to `[lower[j], upper[j]]`.

    A network extrapolates linearly outside the inputs it was trained on: a
    catalogue row with one photometric error 100 standard deviations beyond
    the training sample's largest gets a predictive that can be arbitrarily
    narrow and far away (a log-density of -30,000 was seen on DC2). Placed
    after the standardization, this layer makes the network see such a row
    at the edge of the training range instead. It changes nothing inside the
    range; how far a row lies outside is what
    `likely.experiment.shift_score` reports.

    `ClipToRange.adapt_to(values, margin)` builds one from training rows:
    each feature's observed range, widened by `margin` times its width on
    both sides (a feature constant in training is held at that constant).

    Args:
        lower: Lower bounds, one per feature (a sequence of d floats).
        upper: Upper bounds, one per feature, each >= its lower bound.
        **kwargs: Base layer keyword arguments (`name`, `dtype`, ...).

    Example:
        >>> import numpy as np, likely
        >>> layer = likely.layers.ClipToRange([0.0, -1.0], [1.0, 1.0])
        >>> np.asarray(layer(np.array([[0.5, 7.0], [-3.0, 0.0]]))).tolist()
        [[0.5, 1.0], [0.0, 0.0]]
    """

    def __init__(self, lower: Any, upper: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        lower = np.asarray(lower, dtype=np.float64)
        upper = np.asarray(upper, dtype=np.float64)
        if lower.ndim != 1 or lower.shape != upper.shape or lower.size == 0:
            raise ValueError(
                "Arguments `lower` and `upper` must be non-empty sequences of the same length "
                f"(one bound per feature). Received shapes {lower.shape} and {upper.shape}."
            )
        if not (np.all(np.isfinite(lower)) and np.all(np.isfinite(upper))):
            raise ValueError("Arguments `lower` and `upper` must be finite.")
        if np.any(lower > upper):
            bad = int(np.argmax(lower > upper))
            raise ValueError(
                f"Each lower bound must be <= its upper bound. Received: feature {bad} has "
                f"lower={float(lower[bad])} > upper={float(upper[bad])}."
            )
        self.lower = lower.tolist()
        self.upper = upper.tolist()

    @classmethod
    def adapt_to(cls, values: Any, margin: float = 0.1, **kwargs: Any) -> ClipToRange:
        """The range of `values` (n, d) per feature, widened by `margin` x its width each side."""
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 2 or len(values) == 0:
            raise ValueError(f"Expected values of shape (n, d), n > 0. Received: {values.shape}.")
        if not 0 <= margin < np.inf:
            raise ValueError(f"Argument `margin` must be >= 0. Received: margin={margin!r}")
        low, high = values.min(axis=0), values.max(axis=0)
        width = margin * (high - low)
        return cls(low - width, high + width, **kwargs)

    def build(self, input_shape: tuple) -> None:
        if input_shape[-1] is not None and input_shape[-1] != len(self.lower):
            raise ValueError(
                f"ClipToRange holds bounds for {len(self.lower)} features; its input has "
                f"{input_shape[-1]} (shape {input_shape})."
            )
        super().build(input_shape)

    def call(self, inputs: Any) -> Any:
        lower = ops.convert_to_tensor(self.lower, dtype=inputs.dtype)
        upper = ops.convert_to_tensor(self.upper, dtype=inputs.dtype)
        return ops.minimum(ops.maximum(inputs, lower), upper)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "lower": self.lower, "upper": self.upper}
