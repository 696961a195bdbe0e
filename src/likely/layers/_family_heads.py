"""The TFP-named heads of likely's other families (the normal ones are in `_heads`)."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from likely import distributions as dist
from likely.distributions import DEFAULT_MIN_SCALE
from likely.layers._heads import DistributionHead

_DEFAULT_MIN_DF = 2.0


@keras.saving.register_keras_serializable(package="likely")
class IndependentStudentT(DistributionHead):
    """Student-t head with learned degrees of freedom: heavy tails for outliers.

    Takes `params_size(E) = 3E` inputs: E locations, E scales
    (`softplus(x) + min_scale`) and E degrees of freedom (`min_df + exp(x)`).
    Gives `likely.distributions.StudentT` (or `Independent(StudentT, 1)`).

    Args:
        event_size: Number of target dimensions E.
        min_scale: Floor added to every scale.
        min_df: Smallest degrees of freedom (default 2: the variance exists).
        **kwargs: `ensemble_size` and base layer keyword arguments.

    Example:
        >>> import likely
        >>> likely.layers.IndependentStudentT.params_size(1)
        3
    """

    def __init__(
        self,
        event_size: int = 1,
        *,
        min_scale: float = DEFAULT_MIN_SCALE,
        min_df: float = _DEFAULT_MIN_DF,
        **kwargs: Any,
    ) -> None:
        kwargs.pop("family", None)
        super().__init__(
            "student_t", event_size=event_size, min_scale=min_scale, min_df=min_df, **kwargs
        )

    @staticmethod
    def params_size(event_size: int = 1) -> int:
        return dist.StudentT.params_size(event_size)


@keras.saving.register_keras_serializable(package="likely")
class IndependentLogNormal(DistributionHead):
    """Log-normal head for positive targets: no mass at or below zero.

    Takes `params_size(E) = 2E` inputs: E locations of log y, then E scales
    of log y (`softplus(x) + min_scale`). Gives `likely.distributions.LogNormal`.

    Args:
        event_size: Number of target dimensions E.
        min_scale: Floor added to every scale of log y.
        **kwargs: `ensemble_size` and base layer keyword arguments.

    Example:
        >>> import likely
        >>> likely.layers.IndependentLogNormal.params_size(2)
        4
    """

    def __init__(
        self, event_size: int = 1, *, min_scale: float = DEFAULT_MIN_SCALE, **kwargs: Any
    ) -> None:
        kwargs.pop("family", None)
        super().__init__("lognormal", event_size=event_size, min_scale=min_scale, **kwargs)

    @staticmethod
    def params_size(event_size: int = 1) -> int:
        return dist.LogNormal.params_size(event_size)


@keras.saving.register_keras_serializable(package="likely")
class MultivariateNormalTriL(DistributionHead):
    """Full-covariance normal head over E jointly predicted, correlated targets.

    Takes `params_size(E) = E + E(E+1)/2` inputs: the means, then the lower
    triangle of the Cholesky factor row by row (diagonal entries through
    `softplus(x) + min_scale`). Gives `likely.distributions.MultivariateNormalTriL`.

    Args:
        event_size: Number of target dimensions E.
        min_scale: Floor added to the Cholesky factor's diagonal.
        **kwargs: `ensemble_size` and base layer keyword arguments.

    Example:
        >>> import likely
        >>> likely.layers.MultivariateNormalTriL.params_size(2)
        5
    """

    def __init__(
        self, event_size: int = 2, *, min_scale: float = DEFAULT_MIN_SCALE, **kwargs: Any
    ) -> None:
        kwargs.pop("family", None)
        super().__init__("mvn_tril", event_size=event_size, min_scale=min_scale, **kwargs)

    @staticmethod
    def params_size(event_size: int = 2) -> int:
        return dist.MultivariateNormalTriL.params_size(event_size)


@keras.saving.register_keras_serializable(package="likely")
class IndependentBernoulli(DistributionHead):
    """Binary head: E independent Bernoulli variables from E logits.

    The loss is the binary cross-entropy (`nll` from logits). Gives
    `likely.distributions.Bernoulli` (or `Independent(Bernoulli, 1)`).

    Args:
        event_size: Number of binary targets E.
        **kwargs: `ensemble_size` and base layer keyword arguments.

    Example:
        >>> import likely
        >>> likely.layers.IndependentBernoulli.params_size(3)
        3
    """

    def __init__(self, event_size: int = 1, **kwargs: Any) -> None:
        kwargs.pop("family", None)
        super().__init__("bernoulli", event_size=event_size, **kwargs)

    @staticmethod
    def params_size(event_size: int = 1) -> int:
        return dist.Bernoulli.params_size(event_size)


@keras.saving.register_keras_serializable(package="likely")
class OneHotCategorical(DistributionHead):
    """Classification head over `num_classes` classes from as many logits.

    Gives `likely.distributions.OneHotCategorical`; the loss is the
    categorical cross-entropy and takes one-hot targets `(batch, C)` or
    integer labels `(batch,)`.

    Args:
        num_classes: Number of classes C (>= 2).
        **kwargs: `ensemble_size` and base layer keyword arguments.

    Example:
        >>> import likely
        >>> likely.layers.OneHotCategorical.params_size(4)
        4
    """

    def __init__(self, num_classes: int, **kwargs: Any) -> None:
        kwargs.pop("family", None)
        super().__init__("one_hot_categorical", num_classes=num_classes, **kwargs)

    @staticmethod
    def params_size(num_classes: int) -> int:
        return dist.OneHotCategorical.params_size(num_classes)

    def _convert_targets(self, y: Any, distribution: dist.Distribution, expected: int) -> Any:
        # Integer labels (batch,) or (batch, 1) -> one-hot; one-hot targets pass through.
        if len(y.shape) == expected - 1 or (len(y.shape) == expected and y.shape[-1] == 1):
            labels = y if len(y.shape) == expected - 1 else ops.squeeze(y, -1)
            return ops.one_hot(ops.cast(labels, "int32"), self.options["num_classes"])
        return y


@keras.saving.register_keras_serializable(package="likely")
class SplineFlow(DistributionHead):
    """Bounded, flexible head: a rational-quadratic spline flow on [low, high] (1-D targets).

    Multimodal densities with no mass outside the bounds (Durkan et al.
    2019), as pzflow uses for photometric redshifts. Takes
    `params_size(num_bins) = 3 num_bins + 1` inputs. Gives
    `likely.distributions.SplineFlow`; targets outside [low, high] have zero
    density (an infinite loss), so choose bounds that hold every target.

    Args:
        num_bins: Number of spline bins K.
        low: Lower bound of the target.
        high: Upper bound of the target.
        **kwargs: `ensemble_size` and base layer keyword arguments.

    Example:
        >>> import likely
        >>> likely.layers.SplineFlow.params_size(8)
        25
    """

    def __init__(
        self, num_bins: int = 16, *, low: float = 0.0, high: float = 1.0, **kwargs: Any
    ) -> None:
        kwargs.pop("family", None)
        kwargs.pop("event_size", None)
        super().__init__("spline_flow", num_bins=num_bins, low=low, high=high, **kwargs)

    @staticmethod
    def params_size(num_bins: int = 16) -> int:
        return dist.SplineFlow.params_size(num_bins)


@keras.saving.register_keras_serializable(package="likely")
class MixtureSameFamily(DistributionHead):
    """Mixture head over K components of any continuous family.

    As TFP's `MixtureSameFamily(num_components, component_layer)`: the
    component is a family name (`"student_t"`, `"lognormal"`, ...) with its
    options, or a likely head whose family and options are used. Takes
    `params_size(K, P_c) = K + K * P_c` inputs: K logits, then each
    component's `P_c` parameters. Gives `likely.distributions.MixtureSameFamily`.

    Args:
        num_components: Number of components K.
        component: A registered family name or a likely head (e.g.
            `IndependentStudentT(1)`).
        **kwargs: The component family's options (`event_size`, `min_scale`,
            ...), `ensemble_size` and base layer keyword arguments.

    Example:
        >>> import likely
        >>> head = likely.layers.MixtureSameFamily(3, likely.layers.IndependentStudentT(1))
        >>> head.num_params == likely.layers.MixtureSameFamily.params_size(3, 3)
        True
    """

    def __init__(self, num_components: int, component: Any = "normal", **kwargs: Any) -> None:
        kwargs.pop("family", None)
        if isinstance(component, DistributionHead):
            kwargs = {**component.options, **kwargs}
            component = component.family
        super().__init__(
            "mixture_same_family", num_components=num_components, component=component, **kwargs
        )

    @staticmethod
    def params_size(num_components: int, component_params_size: int) -> int:
        """K logits and K times the component's own params_size."""
        k = dist.check_positive_int("num_components", num_components)
        return k * (1 + dist.check_positive_int("component_params_size", component_params_size))
