"""Keras metrics for `compile(metrics=[...])`: predictive NLL, CRPS and coverage during training.

They read the head that produced `y_pred` (as `likely.losses.nll` does) and
average per-example values over the epoch (`keras.metrics.Mean`). For an
ensemble they score the predictive — the equal-weight mixture of the members,
as `likely.predict_distribution` gives — not the members one by one (the loss
is the members' mean NLL). The CRPS comes from scoringrules on the training
backend, the library `likely.metrics.crps` uses. A metric finds the head as
the loss does (`likely.layers.resolve_head`); pass `head=` when a process
holds several models whose heads output the same shape.

Keras' own string metrics (`"mae"`, `"mse"`) receive the head's raw
parameters, not a point prediction; wrap them in `OnMean` to score the
predictive mean.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from likely import distributions as dist
from likely._keras_compat import in_symbolic_scope
from likely.layers import DistributionHead, resolve_head


def _head(y_pred: Any, name: str, bound: DistributionHead | None) -> DistributionHead | None:
    if bound is not None:
        return bound
    head = resolve_head(y_pred)
    if head is None and not in_symbolic_scope():
        raise ValueError(
            f"The {name} metric could not tell which likely head produced y_pred (shape "
            f"{tuple(y_pred.shape)}): none, or several models' heads, output that shape. Name "
            f"it: {name}(head=<the model's head layer>)."
        )
    return head


class _HeadMetric(keras.metrics.Mean):
    """Mean over the epoch of a per-example value computed from the head's distribution."""

    head: DistributionHead | None = None

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        head = _head(y_pred, type(self).__name__, self.head)
        if head is None:  # Keras builds its metrics on placeholders first
            values = ops.zeros(ops.shape(y_pred)[:1])
        else:
            values = self.per_example(head, y_true, y_pred)
        return super().update_state(values, sample_weight=sample_weight)

    def per_example(self, head: DistributionHead, y_true: Any, y_pred: Any) -> Any:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}


@keras.saving.register_keras_serializable(package="likely")
class PredictiveNLL(_HeadMetric):
    """Mean negative log-likelihood of the predictive (for ensembles, of the mixture).

    Example:
        >>> import keras, numpy as np, likely
        >>> model = likely.models.mlp(1, hidden=(4,), ensemble_size=3, seed=0)
        >>> model.compile(optimizer="adam", loss=likely.losses.nll,
        ...               metrics=[likely.metrics.PredictiveNLL()])
        >>> history = model.fit(np.zeros((32, 1)), np.zeros(32), epochs=1, verbose=0)
        >>> sorted(history.history)
        ['loss', 'predictive_nll']
    """

    def __init__(
        self, name: str = "predictive_nll", dtype: Any = None, head: DistributionHead | None = None
    ) -> None:
        super().__init__(name=name, dtype=dtype)
        self.head = head

    def per_example(self, head: DistributionHead, y_true: Any, y_pred: Any) -> Any:
        return -head.predictive_log_prob(y_true, y_pred)


@keras.saving.register_keras_serializable(package="likely")
class Coverage(_HeadMetric):
    """Share of targets inside the predictive's central `level` interval (scalar targets).

    `y` is inside iff `|F(y) - 1/2| <= level / 2`, with F the predictive CDF —
    the interval `likely.metrics.coverage` uses, without computing quantiles.

    Example:
        >>> import likely
        >>> likely.metrics.Coverage(0.68).name
        'coverage_68'
    """

    def __init__(
        self,
        level: float = 0.68,
        name: str | None = None,
        dtype: Any = None,
        head: DistributionHead | None = None,
    ) -> None:
        if not 0.0 < float(level) < 1.0:
            raise ValueError(f"Argument `level` must be in (0, 1). Received: level={level!r}")
        self.level = float(level)
        super().__init__(name=name or f"coverage_{round(100 * self.level):d}", dtype=dtype)
        self.head = head

    def per_example(self, head: DistributionHead, y_true: Any, y_pred: Any) -> Any:
        distribution = head.distribution(y_pred)
        members = head.has_members(y_pred)
        if distribution.event_shape != ():
            raise ValueError("The Coverage metric is for scalar targets.")
        cdf = distribution.cdf(head.align_targets(y_true, distribution, members))
        if members:
            cdf = ops.mean(cdf, axis=1)
        return ops.cast(ops.abs(cdf - 0.5) <= 0.5 * self.level, "float32")

    def get_config(self) -> dict:
        return {**super().get_config(), "level": self.level}


@keras.saving.register_keras_serializable(package="likely")
class CRPS(_HeadMetric):
    """Mean CRPS of the predictive of normal and normal-mixture heads (ensembles included).

    Through scoringrules (`crps_normal`, `crps_mixnorm`) on the training
    backend, as `likely.metrics.crps` on NumPy.

    Example:
        >>> import likely
        >>> likely.metrics.CRPS().name
        'crps'
    """

    def __init__(
        self, name: str = "crps", dtype: Any = None, head: DistributionHead | None = None
    ) -> None:
        super().__init__(name=name, dtype=dtype)
        self.head = head
        if keras.backend.backend() == "tensorflow":
            from scoringrules.backend import backends

            # Created eagerly: scoringrules keeps constants in its backend object, and
            # one made inside a traced step could not be used by another graph.
            backends["tensorflow"]

    def per_example(self, head: DistributionHead, y_true: Any, y_pred: Any) -> Any:
        import scoringrules

        backend = keras.backend.backend()
        distribution = head.distribution(y_pred)
        members = head.has_members(y_pred)
        y = head.align_targets(y_true, distribution, members)
        if isinstance(distribution, dist.Normal) and not members:
            return scoringrules.crps_normal(
                y, distribution.loc, distribution.scale, backend=backend
            )
        if isinstance(distribution, dist.Normal | dist.MixtureNormal) and (
            distribution.event_shape == ()
        ):
            if isinstance(distribution, dist.Normal):  # (b, M) members, equal weights
                loc, scale = distribution.loc, distribution.scale
                weights = ops.ones_like(loc) / ops.cast(ops.shape(loc)[-1], loc.dtype)
            else:
                k = distribution.num_components
                batch = ops.shape(distribution.logits)[0]
                weights = ops.reshape(distribution.weights, (batch, -1))
                loc = ops.reshape(distribution.loc[..., 0], (batch, -1))
                scale = ops.reshape(distribution.scale[..., 0], (batch, -1))
                if members:
                    weights = weights / ops.cast(ops.shape(weights)[-1] // k, weights.dtype)
            y = ops.reshape(y, (-1,))
            return scoringrules.crps_mixnorm(y, loc, scale, weights, backend=backend)
        raise ValueError(
            "The CRPS metric has closed forms for normal and normal-mixture heads; score other "
            "families after training with likely.metrics.crps."
        )


@keras.saving.register_keras_serializable(package="likely")
class OnMean(_HeadMetric):
    """A per-example Keras metric function (`"mae"`, `"mse"`, ...) on the predictive mean.

    Keras' string metrics would see the head's raw parameters; this applies
    the function to `y_true` and the predictive mean (for an ensemble, the
    mean of the members' means) and averages it over the epoch.

    Example:
        >>> import likely
        >>> likely.metrics.OnMean("mae").name
        'mae'
    """

    def __init__(
        self,
        metric: Any = "mae",
        name: str | None = None,
        dtype: Any = None,
        head: DistributionHead | None = None,
    ) -> None:
        # Keras' loss module holds the per-example functions behind its metric names.
        function = keras.losses.get(metric) if isinstance(metric, str) else metric
        if isinstance(function, keras.metrics.Metric | keras.losses.Loss) or not callable(function):
            raise TypeError(
                "OnMean takes a per-example Keras metric function or its name ('mae', 'mse', "
                f"'mape', ...). Received: {metric!r}."
            )
        self.function = function
        self.metric = metric if isinstance(metric, str) else keras.losses.serialize(function)
        super().__init__(name=name or (metric if isinstance(metric, str) else None), dtype=dtype)
        self.head = head

    def per_example(self, head: DistributionHead, y_true: Any, y_pred: Any) -> Any:
        distribution = head.distribution(y_pred)
        members = head.has_members(y_pred)
        mean = distribution.mean
        if members:
            mean = ops.mean(mean, axis=1)
        target = ops.reshape(ops.cast(y_true, mean.dtype), ops.shape(mean))
        if not distribution.event_shape:
            target, mean = ops.expand_dims(target, -1), ops.expand_dims(mean, -1)
        return self.function(target, mean)

    def get_config(self) -> dict:
        return {**super().get_config(), "metric": self.metric}
