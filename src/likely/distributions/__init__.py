"""Probability distributions written once with `keras.ops`.

They run on the JAX, PyTorch and TensorFlow backends and on NumPy input, and
their interface follows `torch.distributions`: `log_prob`, `cdf`, `quantile`,
`mean`, `variance`, `stddev`, `sample(sample_shape, seed=)`, `batch_shape`
and `event_shape`. Methods return backend tensors; `likely.Predictive`
wraps a distribution and returns NumPy arrays.
"""

from likely.distributions._mixture import MixtureNormal
from likely.distributions._normal import Normal
from likely.distributions._packed import pack_params, unpack_params

__all__ = ["MixtureNormal", "Normal", "pack_params", "unpack_params"]
