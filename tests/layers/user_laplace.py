"""A distribution family defined outside likely, as a user would (used by test_user_family.py)."""

import math

import keras
from keras import ops

import likely
from likely.distributions import Distribution, constraints, register_family


@register_family("user_laplace")
class Laplace(Distribution):
    """Laplace(loc, scale): p(y) = exp(-|y - loc| / scale) / (2 scale)."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real

    def __init__(self, loc, scale, *, validate_args=True):
        self.loc = ops.convert_to_tensor(loc, "float32")
        self.scale = ops.convert_to_tensor(scale, "float32")
        self._init_shapes(tuple(ops.shape(self.loc + self.scale)), ())
        if validate_args:
            self._validate(loc=self.loc, scale=self.scale)

    @classmethod
    def params_size(cls, event_size=1, **_):
        return 2

    @classmethod
    def check_options(cls, event_size=1):
        return {"event_size": event_size}

    @classmethod
    def from_unconstrained(cls, params, event_size=1):
        return cls(params[..., 0], ops.softplus(params[..., 1]) + 1e-3, validate_args=False)

    def parameters(self):
        return {"loc": self.loc, "scale": self.scale}

    def _param_event_ndims(self):
        return {"loc": 0, "scale": 0}

    @property
    def mean(self):
        return ops.broadcast_to(self.loc, self.batch_shape)

    @property
    def variance(self):
        return ops.broadcast_to(2.0 * ops.square(self.scale), self.batch_shape)

    @property
    def mode(self):
        return self.mean

    def log_prob(self, value):
        value = ops.convert_to_tensor(value, "float32")
        return -ops.abs(value - self.loc) / self.scale - ops.log(2.0 * self.scale)

    def cdf(self, value):
        z = (ops.convert_to_tensor(value, "float32") - self.loc) / self.scale
        return ops.where(z < 0, 0.5 * ops.exp(z), 1.0 - 0.5 * ops.exp(-z))

    def quantile(self, q):
        q = ops.convert_to_tensor(q, "float32")
        return self.loc - self.scale * ops.sign(q - 0.5) * ops.log1p(-2.0 * ops.abs(q - 0.5))


@keras.saving.register_keras_serializable(package="user")
def laplace_from_outputs(t):
    """The course's DistributionLambda idiom, with a family of one's own."""
    return Laplace(t[..., 0], 1e-3 + ops.softplus(t[..., 1]), validate_args=False)


_ = (math, likely)
