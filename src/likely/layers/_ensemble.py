"""`EnsembleDense`: M dense layers with a leading member axis, computed in one einsum.

A deep ensemble (Lakshminarayanan et al. 2017) is M networks trained
independently from different random initializations. Stacking their weights
on a member axis turns the M networks into ONE Keras model: each layer does
a single batched matrix product for all members, one `fit` call trains them
all, and the mean member NLL (`likely.losses.nll`) keeps the members'
gradients independent.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from likely.layers._heads import _check_positive_int, declare_members

_UNROLL_MAX_MEMBERS = 16
"""Up to this many members, inner layers on JAX do one matmul per member."""


def _member_seed(seed: int, member: int) -> int:
    """A distinct, reproducible 31-bit seed for `member`, derived from `seed`."""
    state = np.random.SeedSequence([int(seed) % 2**32, member]).generate_state(1)[0]
    return int(state) % (2**31 - 1)


class _PerMemberInitializer:
    """Initializes a `(M, *shape)` weight as M independent draws of `initializer(shape)`.

    Calling the initializer once on the full shape would be wrong twice over:
    Keras' variance-scaling initializers would count M into the fan-in/fan-out,
    and an int-seeded initializer returns the same values at every call. Each
    member therefore gets its own copy with a seed derived from the base seed.
    """

    def __init__(self, initializer: keras.initializers.Initializer, ensemble_size: int) -> None:
        self.initializer = initializer
        self.ensemble_size = ensemble_size

    def _member_initializers(self) -> list[Any]:
        base = self.initializer
        seed = getattr(base, "seed", None)
        if isinstance(seed, int | np.integer) and not isinstance(seed, bool):
            config = base.get_config()
            members = []
            for m in range(self.ensemble_size):
                config["seed"] = _member_seed(int(seed), m)
                members.append(type(base).from_config(dict(config)))
            return members
        # A SeedGenerator advances at every call; constant initializers need no seed.
        return [base] * self.ensemble_size

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> Any:
        member_shape = tuple(shape[1:])
        draws = [init(member_shape, dtype=dtype) for init in self._member_initializers()]
        return ops.stack(draws, axis=0)


@keras.saving.register_keras_serializable(package="likely")
class EnsembleDense(keras.layers.Layer):
    """M independent dense layers in one: `y[b, m] = activation(x[b, m] @ W[m] + b[m])`.

    The kernel has shape `(ensemble_size, input_dim, units)` and the bias
    `(ensemble_size, units)`; every member is initialized with its own random
    draw (the initializer is applied per member, so Glorot/He scaling uses the
    member's own fan-in and fan-out).

    The first ensemble layer of a network takes the ordinary `(batch, input_dim)`
    inputs and gives every member the same rows; later layers take and return
    `(batch, ensemble_size, units)`. Put a head (`likely.layers.IndependentNormal`
    or any other likely head) after an `EnsembleDense` with `params_size(...)`
    units: the layer declares its output's axis 1 as the members, so the head
    outputs `(batch, ensemble_size, P)` parameters that `likely.losses.nll`
    (the mean of the member NLLs) and `likely.predict_distribution` (the
    equal-weight mixture) read as an ensemble.

    Args:
        units: Output width of each member.
        ensemble_size: Number of members M.
        activation: Activation function (name or callable), applied per member.
        use_bias: Whether each member has a bias.
        kernel_initializer: Initializer of one member's `(input_dim, units)` kernel.
        bias_initializer: Initializer of one member's `(units,)` bias.
        kernel_regularizer: Regularizer on the full kernel.
        bias_regularizer: Regularizer on the full bias.
        **kwargs: Base layer keyword arguments (`name`, `dtype`, ...).

    Input shape:
        `(batch, input_dim)` or `(batch, ensemble_size, input_dim)`.

    Output shape:
        `(batch, ensemble_size, units)`.

    Example:
        >>> import keras, numpy as np, likely
        >>> model = keras.Sequential([
        ...     keras.Input((1,)),
        ...     likely.layers.EnsembleDense(16, ensemble_size=5, activation="relu"),
        ...     likely.layers.EnsembleDense(
        ...         likely.layers.IndependentNormal.params_size(1), ensemble_size=5),
        ...     likely.layers.IndependentNormal(1),
        ... ])
        >>> model.output_shape
        (None, 5, 2)
        >>> model.compile(optimizer="adam", loss=likely.losses.nll)
        >>> likely.predict_distribution(model, np.zeros((4, 1))).num_members
        5
    """

    def __init__(
        self,
        units: int,
        ensemble_size: int,
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.units = _check_positive_int("units", units)
        self.ensemble_size = _check_positive_int("ensemble_size", ensemble_size)
        self.activation = keras.activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.input_spec = keras.layers.InputSpec(min_ndim=2, max_ndim=3)

    def build(self, input_shape: tuple) -> None:
        if len(input_shape) == 3 and input_shape[1] not in (None, self.ensemble_size):
            raise ValueError(
                f"EnsembleDense with ensemble_size={self.ensemble_size} expects inputs of shape "
                f"(batch, input_dim) or (batch, {self.ensemble_size}, input_dim). Received: "
                f"input shape {tuple(input_shape)}."
            )
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                "EnsembleDense needs a known last input dimension. Received: input shape "
                f"{tuple(input_shape)}."
            )
        m = self.ensemble_size
        self.kernel = self.add_weight(
            name="kernel",
            shape=(m, input_dim, self.units),
            initializer=_PerMemberInitializer(self.kernel_initializer, m),
            regularizer=self.kernel_regularizer,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias",
                shape=(m, self.units),
                initializer=_PerMemberInitializer(self.bias_initializer, m),
                regularizer=self.bias_regularizer,
            )

    def call(self, inputs: Any) -> Any:
        m = self.ensemble_size
        if len(inputs.shape) == 2:
            # Every member sees the same rows: one (batch, in) x (in, M * units) product.
            x = ops.einsum("bi,mio->bmo", inputs, self.kernel)
        elif m <= _UNROLL_MAX_MEMBERS and keras.backend.backend() == "jax":
            # One product per member, stacked on the member axis. With XLA on CPU this
            # runs ~20% faster than the batched einsum below, for which XLA moves the
            # member axis to the front of the activations and back in every layer
            # (torch, in eager mode, is faster with the einsum).
            x = ops.stack([ops.matmul(inputs[:, i], self.kernel[i]) for i in range(m)], axis=1)
        else:
            x = ops.einsum("bmi,mio->bmo", inputs, self.kernel)
        if self.bias is not None:
            x = x + self.bias
        if self.activation is not None:
            x = self.activation(x)
        return x

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (input_shape[0], self.ensemble_size, self.units)

    def compute_output_spec(self, inputs: Any) -> Any:
        """The symbolic output, declared as holding `ensemble_size` members on axis 1."""
        output = keras.KerasTensor(self.compute_output_shape(inputs.shape), self.compute_dtype)
        return declare_members(output, self.ensemble_size)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "units": self.units,
            "ensemble_size": self.ensemble_size,
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": keras.regularizers.serialize(self.bias_regularizer),
        }
