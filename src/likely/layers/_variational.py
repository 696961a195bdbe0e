"""Bayesian dense layers: a mean-field Normal posterior over kernel and bias.

Every forward pass draws one set of weights from the posterior
`q(w) = N(loc, softplus(rho)^2)`, at training AND at prediction time, so a
model built from these layers is stochastic: each call is one sample of the
posterior predictive (as with TensorFlow Probability's layers).
`likely.predict_distribution(model, x, n_samples=S, seed=...)` turns S passes
into the mixture predictive and splits its variance into aleatoric and
epistemic parts.

Training maximizes the evidence lower bound. Keras averages the data loss
over a batch, so each layer adds `kl_weight * KL(q || p)` with
`kl_weight = 1 / n_train` (the number of training examples): the sum is then
the negative ELBO divided by `n_train`.

- `DenseVariational`: the reparameterization trick, `w = loc + scale * eps`,
  one weight draw shared by the whole batch (Blundell et al. 2015).
- `DenseFlipout`: the same posterior, but each example sees the shared
  perturbation multiplied by its own random signs, which decorrelates the
  gradients within a batch at the cost of a second matrix product
  (Wen et al. 2018).
"""

from __future__ import annotations

import math
from typing import Any

import keras
from keras import ops

from likely.layers._heads import _check_positive_int

_POSTERIOR_MIN_SCALE = 1e-6


def _check_positive_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"Argument `{name}` must be a positive number. Received: {name}={value!r}")
    if not math.isfinite(value):
        raise ValueError(f"Argument `{name}` must be finite. Received: {name}={value!r}")
    return float(value)


def _resolve_kl_weight(kl_weight: Any, n_train: Any) -> float:
    if kl_weight is not None and n_train is not None:
        raise ValueError(
            "Pass either `n_train` (then kl_weight = 1 / n_train) or `kl_weight`, not both. "
            f"Received: kl_weight={kl_weight!r}, n_train={n_train!r}."
        )
    if n_train is not None:
        return 1.0 / _check_positive_int("n_train", n_train)
    if kl_weight is None:
        raise ValueError(
            "A variational layer needs the weight of its KL term: pass `n_train`, the number "
            "of training examples (kl_weight = 1 / n_train gives the ELBO per example), or "
            "`kl_weight` directly. Received: kl_weight=None, n_train=None."
        )
    if isinstance(kl_weight, bool) or not isinstance(kl_weight, int | float) or kl_weight < 0:
        raise ValueError(
            f"Argument `kl_weight` must be a non-negative number. Received: kl_weight={kl_weight!r}"
        )
    return float(kl_weight)


def _inverse_softplus(value: float) -> float:
    return value + math.log(-math.expm1(-value))


def kl_normal_normal(loc_q: Any, scale_q: Any, loc_p: Any, scale_p: Any) -> Any:
    """Elementwise KL(N(loc_q, scale_q^2) || N(loc_p, scale_p^2)), in closed form."""
    ratio = ops.square(scale_q / scale_p)
    return 0.5 * (ratio + ops.square((loc_q - loc_p) / scale_p) - 1.0 - ops.log(ratio))


class _MeanFieldDense(keras.layers.Layer):
    """Shared machinery: posterior and prior weights, the KL term, config."""

    def __init__(
        self,
        units: int,
        activation: Any = None,
        use_bias: bool = True,
        *,
        n_train: int | None = None,
        kl_weight: float | None = None,
        prior_scale: float = 1.0,
        trainable_prior: bool = False,
        posterior_scale_init: float = 0.05,
        kernel_initializer: Any = "glorot_uniform",
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.units = _check_positive_int("units", units)
        self.activation = keras.activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kl_weight = _resolve_kl_weight(kl_weight, n_train)
        self.prior_scale = _check_positive_float("prior_scale", prior_scale)
        self.trainable_prior = bool(trainable_prior)
        self.posterior_scale_init = _check_positive_float(
            "posterior_scale_init", posterior_scale_init
        )
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(f"Argument `seed` must be an int or None. Received: seed={seed!r}")
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.input_spec = keras.layers.InputSpec(min_ndim=2)

    def build(self, input_shape: tuple) -> None:
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                f"{type(self).__name__} needs a known last input dimension. Received: input "
                f"shape {tuple(input_shape)}."
            )
        rho_init = keras.initializers.Constant(_inverse_softplus(self.posterior_scale_init))
        kernel_shape = (input_dim, self.units)
        self.kernel_loc = self.add_weight(
            name="kernel_loc", shape=kernel_shape, initializer=self.kernel_initializer
        )
        self.kernel_rho = self.add_weight(
            name="kernel_rho", shape=kernel_shape, initializer=rho_init
        )
        self.kernel_prior_loc = self.bias_loc = self.bias_rho = self.bias_prior_loc = None
        if self.trainable_prior:
            self.kernel_prior_loc = self.add_weight(
                name="kernel_prior_loc", shape=kernel_shape, initializer="zeros"
            )
        if self.use_bias:
            self.bias_loc = self.add_weight(
                name="bias_loc", shape=(self.units,), initializer="zeros"
            )
            self.bias_rho = self.add_weight(
                name="bias_rho", shape=(self.units,), initializer=rho_init
            )
            if self.trainable_prior:
                self.bias_prior_loc = self.add_weight(
                    name="bias_prior_loc", shape=(self.units,), initializer="zeros"
                )

    # -- posterior and prior ------------------------------------------------------
    @property
    def kernel_scale(self) -> Any:
        """Posterior standard deviations of the kernel, `softplus(kernel_rho) + 1e-6`."""
        return ops.softplus(self.kernel_rho) + _POSTERIOR_MIN_SCALE

    @property
    def bias_scale(self) -> Any:
        """Posterior standard deviations of the bias (None without a bias)."""
        if self.bias_rho is None:
            return None
        return ops.softplus(self.bias_rho) + _POSTERIOR_MIN_SCALE

    def _prior_loc(self, name: str) -> Any:
        loc = getattr(self, f"{name}_prior_loc")
        return 0.0 if loc is None else loc

    def kl_divergence(self) -> Any:
        """KL(posterior || prior) summed over every weight, in closed form (a scalar tensor)."""
        kl = ops.sum(
            kl_normal_normal(
                self.kernel_loc, self.kernel_scale, self._prior_loc("kernel"), self.prior_scale
            )
        )
        if self.use_bias:
            kl = kl + ops.sum(
                kl_normal_normal(
                    self.bias_loc, self.bias_scale, self._prior_loc("bias"), self.prior_scale
                )
            )
        return kl

    def _sample_bias(self) -> Any:
        eps = keras.random.normal(ops.shape(self.bias_loc), seed=self.seed_generator)
        return self.bias_loc + self.bias_scale * eps

    def _finish(self, x: Any) -> Any:
        if self.use_bias:
            x = x + self._sample_bias()
        if self.kl_weight > 0:
            self.add_loss(self.kl_weight * self.kl_divergence())
        if self.activation is not None:
            x = self.activation(x)
        return x

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kl_weight": self.kl_weight,
            "prior_scale": self.prior_scale,
            "trainable_prior": self.trainable_prior,
            "posterior_scale_init": self.posterior_scale_init,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "seed": self.seed,
        }


@keras.saving.register_keras_serializable(package="likely")
class DenseVariational(_MeanFieldDense):
    """Bayesian dense layer with a mean-field Normal posterior (reparameterization trick).

    Each call draws `kernel = kernel_loc + kernel_scale * eps` (and the bias the
    same way), shared by the whole batch, then computes
    `activation(inputs @ kernel + bias)`. The closed-form
    `kl_weight * KL(posterior || prior)` is added with `add_loss`, so
    `model.fit` minimizes the negative ELBO. The layer samples at prediction
    time too.

    Args:
        units: Output width.
        activation: Activation function (name or callable).
        use_bias: Whether the layer has a (Bayesian) bias.
        n_train: Number of training examples; sets `kl_weight = 1 / n_train`,
            which makes the total loss the negative ELBO per example.
        kl_weight: The weight of the KL term, instead of `n_train` (pass
            exactly one of the two; `0` trains without the KL term).
        prior_scale: Standard deviation of the Normal(0, prior_scale) prior.
        trainable_prior: If True, the prior's locations are trainable weights
            (initialized at 0, scale fixed at `prior_scale`), as in the TFP tutorial.
        posterior_scale_init: Initial posterior standard deviation of every weight.
        kernel_initializer: Initializer of the posterior kernel locations.
        seed: Seed of the layer's `keras.random.SeedGenerator`.
        **kwargs: Base layer keyword arguments (`name`, `dtype`, ...).

    Example:
        >>> import keras, numpy as np, likely
        >>> layer = likely.layers.DenseVariational(2, n_train=100, seed=0)
        >>> y = layer(np.ones((3, 4)))
        >>> tuple(y.shape), layer.kl_weight
        ((3, 2), 0.01)
        >>> bool(np.allclose(keras.ops.convert_to_numpy(layer(np.ones((3, 4)))), y))
        False
    """

    def call(self, inputs: Any) -> Any:
        eps = keras.random.normal(ops.shape(self.kernel_loc), seed=self.seed_generator)
        kernel = self.kernel_loc + self.kernel_scale * eps
        return self._finish(ops.matmul(inputs, kernel))


@keras.saving.register_keras_serializable(package="likely")
class DenseFlipout(_MeanFieldDense):
    """Bayesian dense layer with the flipout estimator (Wen et al. 2018).

    Same posterior, prior and KL term as `DenseVariational`. One weight
    perturbation `delta = kernel_scale * eps` is drawn per call and every
    example gets it multiplied by its own random signs,
    `outputs = inputs @ kernel_loc + ((inputs * s_in) @ delta) * s_out` with
    `s_in`, `s_out` uniform on {-1, +1}: each example sees a marginally exact
    posterior sample, and the examples of a batch are decorrelated, which
    lowers the variance of the gradients.

    Args:
        units: Output width.
        activation: Activation function (name or callable).
        use_bias: Whether the layer has a (Bayesian) bias.
        n_train: Number of training examples; sets `kl_weight = 1 / n_train`,
            which makes the total loss the negative ELBO per example.
        kl_weight: The weight of the KL term, instead of `n_train` (pass
            exactly one of the two; `0` trains without the KL term).
        prior_scale: Standard deviation of the Normal(0, prior_scale) prior.
        trainable_prior: If True, the prior's locations are trainable weights
            (initialized at 0, scale fixed at `prior_scale`), as in the TFP tutorial.
        posterior_scale_init: Initial posterior standard deviation of every weight.
        kernel_initializer: Initializer of the posterior kernel locations.
        seed: Seed of the layer's `keras.random.SeedGenerator`.
        **kwargs: Base layer keyword arguments (`name`, `dtype`, ...).

    Example:
        >>> import numpy as np, likely
        >>> layer = likely.layers.DenseFlipout(2, kl_weight=0.0, seed=0)
        >>> tuple(layer(np.ones((3, 4))).shape)
        (3, 2)
    """

    def call(self, inputs: Any) -> Any:
        eps = keras.random.normal(ops.shape(self.kernel_loc), seed=self.seed_generator)
        delta = self.kernel_scale * eps
        outputs = ops.matmul(inputs, self.kernel_loc)
        in_shape = ops.shape(inputs)
        out_shape = (*in_shape[:-1], self.units)
        sign_in = self._random_sign(in_shape, inputs.dtype)
        sign_out = self._random_sign(out_shape, inputs.dtype)
        outputs = outputs + ops.matmul(inputs * sign_in, delta) * sign_out
        return self._finish(outputs)

    def _random_sign(self, shape: tuple, dtype: Any) -> Any:
        u = keras.random.uniform(shape, seed=self.seed_generator, dtype=dtype)
        return ops.cast(ops.where(u < 0.5, -1.0, 1.0), dtype)
