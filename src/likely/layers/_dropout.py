"""`MCDropout`: dropout that stays on at prediction time (Monte-Carlo dropout)."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="likely")
class MCDropout(keras.layers.Layer):
    """Dropout that is active in every forward pass, training or not.

    Gal & Ghahramani (2016) read a network trained with dropout as an
    approximate Bayesian posterior: keeping dropout on at prediction time
    makes each forward pass one posterior sample, and
    `likely.predict_distribution(model, x, n_samples=S, seed=...)` turns S
    passes into the mixture predictive with its aleatoric/epistemic split.
    Unlike `keras.layers.Dropout`, the layer ignores `training`; use
    `keras.layers.Dropout` for dropout as a plain regularizer.

    Args:
        rate: Fraction of the inputs to drop, in [0, 1).
        noise_shape: Shape of the binary mask, broadcast against the inputs
            (as in `keras.layers.Dropout`); None drops elements independently.
        seed: Seed of the layer's `keras.random.SeedGenerator`.
        **kwargs: Base layer keyword arguments (`name`, `dtype`, ...).

    Example:
        >>> import keras, numpy as np, likely
        >>> layer = likely.layers.MCDropout(0.5, seed=0)
        >>> y = keras.ops.convert_to_numpy(layer(np.ones((2, 1000)), training=False))
        >>> sorted(np.unique(y).tolist())
        [0.0, 2.0]
    """

    def __init__(
        self, rate: float, noise_shape: Any = None, seed: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate < 1:
            raise ValueError(f"Argument `rate` must be a number in [0, 1). Received: rate={rate!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(f"Argument `seed` must be an int or None. Received: seed={seed!r}")
        self.rate = float(rate)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        del training  # active in every pass: that is what makes it Monte-Carlo dropout
        if self.rate == 0:
            return inputs
        # The mask is drawn with keras.random.uniform rather than keras.random.dropout:
        # on the torch backend the latter ignores an unseeded SeedGenerator (it uses
        # torch's global generator), which would break seeded predictives.
        shape = ops.shape(inputs)
        if self.noise_shape is not None:
            shape = tuple(
                full if size is None else size
                for full, size in zip(shape, self.noise_shape, strict=True)
            )
        u = keras.random.uniform(shape, seed=self.seed_generator, dtype=inputs.dtype)
        keep = u >= self.rate  # probability 1 - rate
        return ops.where(keep, inputs / (1.0 - self.rate), ops.zeros_like(inputs))

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "rate": self.rate,
            "noise_shape": self.noise_shape,
            "seed": self.seed,
        }
