"""Probability distributions written once with `keras.ops`.

They run on the JAX, PyTorch and TensorFlow backends and on NumPy input, and
their interface follows `torch.distributions`: `log_prob`, `cdf`, `quantile`,
`mean`, `variance`, `stddev`, `sample(sample_shape, seed=)`, `batch_shape`
and `event_shape`. Methods return backend tensors; `likely.Predictive`
wraps a distribution and returns NumPy arrays.

Each family is one module with one class (a `Distribution` subclass that
declares its parameters, their constraints and the map from a head's
unconstrained outputs) and is registered under a name (`family_names()`)
that configs, `likely.models.mlp(head=...)` and
`likely.layers.DistributionHead` accept. Adding a family is its module, its
test file and one import line below.
"""

from likely.distributions import _constraints as constraints
from likely.distributions._affine import AffineTransformed, affine  # noqa: E402
from likely.distributions._base import DEFAULT_MIN_SCALE, check_positive_int
from likely.distributions._bernoulli import Bernoulli
from likely.distributions._categorical import Categorical, OneHotCategorical
from likely.distributions._distribution import Distribution
from likely.distributions._independent import Independent
from likely.distributions._laplace import Laplace
from likely.distributions._lognormal import LogNormal
from likely.distributions._members import mix_members  # noqa: E402
from likely.distributions._mixture import MixtureNormal
from likely.distributions._mixture_same_family import MixtureSameFamily
from likely.distributions._mvn import MultivariateNormalTriL

# The families, one line each (the import registers the family's name).
from likely.distributions._normal import Normal  # noqa: I001
from likely.distributions._registry import family_names, get_family, register_family
from likely.distributions._spline import SplineFlow
from likely.distributions._student_t import StudentT

__all__ = [
    "DEFAULT_MIN_SCALE",
    "AffineTransformed",
    "Bernoulli",
    "Categorical",
    "Distribution",
    "Independent",
    "Laplace",
    "LogNormal",
    "MixtureNormal",
    "MixtureSameFamily",
    "MultivariateNormalTriL",
    "Normal",
    "OneHotCategorical",
    "SplineFlow",
    "StudentT",
    "check_positive_int",
    "affine",
    "constraints",
    "family_names",
    "get_family",
    "mix_members",
    "register_family",
]
