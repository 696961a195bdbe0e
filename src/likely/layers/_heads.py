"""Probabilistic heads: the last layer of a network, which says which distribution it predicts.

Named after the TensorFlow Probability layers the course used, so that

    Dense(MixtureNormal.params_size(5, 1)), MixtureNormal(5, 1)

works as it did there. Keras layers must return tensors, so a head returns
its input parameters unchanged (shape `(batch, P)`, or `(batch, M, P)` for an
ensemble of M members) and *tags* that tensor with itself: the loss
`likely.losses.nll` reads the tag to know which distribution `y_pred`
parameterizes, and `likely.predict_distribution` asks the model's head.
Nothing is ever inferred from a tensor's shape. The family does the maths:
`head.distribution(params)` maps the unconstrained outputs to a
`likely.distributions` object (`family.from_unconstrained`).

The tag follows Keras' own mechanism for masks (an attribute on the tensor,
or a table keyed by the tensor's identity for tensors that take no
attributes, cleared when the tensor dies), so it reaches the loss on every
backend inside `fit`, `evaluate` and `train_on_batch`.
"""

from __future__ import annotations

import weakref
from typing import Any

import keras
from keras import ops

from likely import distributions as dist
from likely.distributions import DEFAULT_MIN_SCALE

_HEAD_ATTRIBUTE = "_likely_head"
_MEMBERS_ATTRIBUTE = "_likely_ensemble_size"
_TAGS: dict[int, Any] = {}


def _check_positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"Argument `{name}` must be a positive integer. Received: {name}={value!r}"
        )
    return value


def _set_tag(tensor: Any, attribute: str, value: Any) -> None:
    try:
        setattr(tensor, attribute, value)
    except (AttributeError, TypeError):
        key = (id(tensor), attribute)
        _TAGS[key] = value
        weakref.finalize(tensor, _TAGS.pop, key, None)


def _get_tag(tensor: Any, attribute: str) -> Any:
    value = getattr(tensor, attribute, None)
    if value is None:
        value = _TAGS.get((id(tensor), attribute))
    return value


def head_of(y_pred: Any) -> DistributionHead | None:
    """The likely head that produced the tensor `y_pred`, or None.

    Example:
        >>> import numpy as np, likely
        >>> head = likely.layers.IndependentNormal(1)
        >>> likely.layers.head_of(head(np.zeros((2, 2)))) is head
        True
        >>> likely.layers.head_of(np.zeros((2, 2))) is None
        True
    """
    return _get_tag(y_pred, _HEAD_ATTRIBUTE)


_CALLED: weakref.WeakSet = weakref.WeakSet()


def resolve_head(y_pred: Any) -> DistributionHead | None:
    """The head that produced `y_pred`: its tag, else the one live head that made this shape.

    On the JAX backend Keras hands metrics (not losses) a copy of `y_pred`
    made by its gradient transformation, which carries no tag. Then the
    single likely head whose last output had this shape is the producer; with
    none or several such heads the result is None (the caller refuses,
    naming the `head=` argument) — never a guess between candidates.
    """
    head = head_of(y_pred)
    if head is not None:
        return head
    shape = tuple(y_pred.shape)
    matches = [h for h in list(_CALLED) if getattr(h, "_last_output_shape", None) == shape]
    return matches[0] if len(matches) == 1 else None


def declare_members(tensor: Any, ensemble_size: int) -> Any:
    """Marks axis 1 of a (symbolic) tensor as holding `ensemble_size` ensemble members.

    `likely.layers.EnsembleDense` declares its outputs this way; a head
    reading such an input treats axis 1 as members (never inferred from the
    rank).
    """
    _set_tag(tensor, _MEMBERS_ATTRIBUTE, int(ensemble_size))
    return tensor


class DistributionHead(keras.layers.Layer):
    """A head for any registered distribution family: the network's last layer.

    Takes the family's `params_size(...)` unconstrained numbers per object and
    returns them unchanged, tagged with the head, so that
    `likely.losses.nll` and `likely.predict_distribution` know the
    distribution: `head.distribution(params)` is
    `family.from_unconstrained(params, **options)`.

    Inputs of shape `(batch, P)` give one distribution per object. Inputs of
    shape `(batch, M, P)` are an ensemble of M members when axis 1 is
    declared as members: by a `likely.layers.EnsembleDense` feeding the head
    (read when the model is built) or by `ensemble_size=M`. Any other extra
    axis is a batch axis (several distributions per object).

    Targets on any scale: with `target_scaling=True` the head holds a shift
    and a scale per target dimension (non-trainable weights, saved with the
    model) and its distribution is the family's distribution mapped by
    `y = shift + scale * z` (`likely.distributions.affine`: the log density
    carries the Jacobian). `adapt(y_train)` sets them to the targets' mean
    and standard deviation, so the network works on standardized targets
    while the loss, the predictive and the saved model are in the targets'
    units. Families on the positive half-line (log-normal) are scaled only
    (by the geometric mean); bounded and discrete families cannot be
    rescaled and refuse `target_scaling`.

    Args:
        family: A registered family name (`likely.distributions.family_names()`)
            or a `likely.distributions.Distribution` subclass (a user-defined
            family; register it with `likely.distributions.register_family`
            so that saved models name it).
        ensemble_size: Declares axis 1 of the input as M ensemble members;
            None: read the declaration of the layer before (EnsembleDense).
        target_scaling: Hold a target shift and scale (see above); set them
            with `adapt(y)`.
        recalibration: A recalibration fitted on held-out data (the config of
            a `likely.calibration` recalibrator, e.g. `{"kind": "scale",
            "scale": 1.1, "noise": 0.0}`), which `likely.predict_distribution`
            applies; saved with the model. `likely train` and the estimator
            set it.
        **options: The family's options (`event_size`, `num_components`,
            `min_scale`, ...), plus base layer keyword arguments (`name`, `dtype`).

    Example:
        >>> import keras, numpy as np, likely
        >>> model = keras.Sequential([
        ...     keras.Input((3,)),
        ...     keras.layers.Dense(likely.layers.DistributionHead.params_size("student_t")),
        ...     likely.layers.DistributionHead("student_t"),
        ... ])
        >>> model.compile(optimizer="adam", loss=likely.losses.nll)
        >>> likely.predict_distribution(model, np.zeros((4, 3))).distribution
        StudentT(batch_shape=(4,), event_shape=())
    """

    _LAYER_KWARGS = ("name", "dtype", "trainable", "autocast")

    def __init__(
        self,
        family: Any = "normal",
        *,
        ensemble_size: int | None = None,
        target_scaling: bool = False,
        recalibration: dict[str, Any] | None = None,
        **options: Any,
    ) -> None:
        layer_kwargs = {k: options.pop(k) for k in self._LAYER_KWARGS if k in options}
        super().__init__(**layer_kwargs)
        self.family_class = dist.get_family(family)
        self.options = _family_options(self.family_class, options)
        self.ensemble_size = (
            None if ensemble_size is None else _check_positive_int("ensemble_size", ensemble_size)
        )
        self.recalibration = recalibration
        self.target_scaling = bool(target_scaling)
        if self.target_scaling:
            if self.scaling_kind() is None:
                raise ValueError(
                    f"The {self.family} family cannot rescale its targets (its support is "
                    f"{self._support()}, in the targets' own units): use target_scaling=False."
                )
            size = int(self.options.get("event_size", 1))
            self.target_shift = self.add_weight(
                shape=(size,), initializer="zeros", trainable=False, name="target_shift"
            )
            self.target_scale = self.add_weight(
                shape=(size,), initializer="ones", trainable=False, name="target_scale"
            )

    # -- targets on any scale -------------------------------------------------------
    def _support(self) -> Any:
        probe = self.family_class.from_unconstrained(
            ops.zeros((1, self.num_params)), **self.options
        )
        return probe.support

    def scaling_kind(self) -> str | None:
        """How this family's targets can be standardized: "affine", "scale" or None.

        From the family's support: the real line allows any shift and scale;
        the positive half-line a scale only; bounded or discrete supports none.
        """
        support = self._support()
        if support.discrete or support.is_bounded_above:
            return None
        if support.is_bounded_below:
            return "scale" if support.lower == 0.0 else None
        return "affine"

    def adapt(self, y: Any) -> DistributionHead:
        """Sets the target shift and scale from training targets `y` ((n,) or (n, E)).

        Affine families: the mean and the standard deviation of each target
        dimension; positive families: shift 0 and the geometric mean. Returns
        the head.
        """
        import numpy as np

        if not self.target_scaling:
            raise ValueError(
                f"{type(self).__name__} was built with target_scaling=False: nothing to adapt."
            )
        size = int(self.target_shift.shape[0])
        values = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        if values.shape[1] != size or not np.isfinite(values).all() or len(values) < 2:
            raise ValueError(
                f"adapt needs at least 2 finite targets of {size} dimension(s), shape (n,) or "
                f"(n, {size}). Received: shape {np.shape(y)}."
            )
        if self.scaling_kind() == "scale":
            if (values <= 0).any():
                raise ValueError(
                    f"The {self.family} family models positive targets, but "
                    f"{int((values <= 0).sum())} of the targets given to adapt are <= 0."
                )
            shift, scale = np.zeros(size), np.exp(np.mean(np.log(values), axis=0))
        else:
            shift, scale = values.mean(axis=0), values.std(axis=0)
            scale = np.where(scale > 0, scale, np.maximum(np.abs(shift), 1.0))
        self.target_shift.assign(shift.astype(self.target_shift.dtype))
        self.target_scale.assign(scale.astype(self.target_scale.dtype))
        return self

    # -- sizes ----------------------------------------------------------------------
    @staticmethod
    def params_size(family: Any = "normal", **options: Any) -> int:
        """Number of inputs a head of `family` with these options needs."""
        family_class = dist.get_family(family)
        return family_class.params_size(**_family_options(family_class, options))

    @property
    def num_params(self) -> int:
        """This head's `params_size`."""
        return self.family_class.params_size(**self.options)

    @property
    def family(self) -> str | None:
        return self.family_class.family

    # -- Keras ------------------------------------------------------------------------
    def build(self, input_shape: tuple) -> None:
        expected = self.num_params
        if input_shape[-1] is not None and input_shape[-1] != expected:
            raise ValueError(
                f"{type(self).__name__} expects inputs whose last axis has "
                f"params_size(...) = {expected} units. Received: input shape "
                f"{tuple(input_shape)}. Put a Dense({expected}) (or an EnsembleDense with "
                f"{expected} units) before the head."
            )
        self._check_members(input_shape)

    def _check_members(self, input_shape: tuple) -> None:
        m = self.ensemble_size
        if m is not None and (len(input_shape) != 3 or input_shape[1] not in (None, m)):
            raise ValueError(
                f"{type(self).__name__} with ensemble_size={m} expects inputs of shape "
                f"(batch, {m}, {self.num_params}). Received: input shape {tuple(input_shape)}."
            )

    def compute_output_spec(self, inputs: Any) -> Any:
        declared = _get_tag(inputs, _MEMBERS_ATTRIBUTE)
        if declared is not None:
            if self.ensemble_size not in (None, declared):
                raise ValueError(
                    f"{type(self).__name__} was given ensemble_size={self.ensemble_size}, but its "
                    f"input comes from an ensemble layer with {declared} members."
                )
            self.ensemble_size = declared
            self._check_members(tuple(inputs.shape))
        return keras.KerasTensor(inputs.shape, dtype=self.compute_dtype)

    def call(self, inputs: Any) -> Any:
        outputs = ops.add(inputs, ops.zeros((), dtype=inputs.dtype))
        _set_tag(outputs, _HEAD_ATTRIBUTE, self)
        self._last_output_shape = tuple(outputs.shape)
        _CALLED.add(self)
        return outputs

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict:
        family = self.family
        if family is None or dist.get_family(family) is not self.family_class:
            raise ValueError(
                f"A head of the family {self.family_class.__qualname__} can only be saved when "
                "the family is registered: decorate it with "
                "@likely.distributions.register_family('<name>')."
            )
        config = {**super().get_config(), "family": family, "ensemble_size": self.ensemble_size}
        if self.target_scaling:  # absent from configs of models saved before it existed
            config["target_scaling"] = True
        if self.recalibration:
            config["recalibration"] = self.recalibration
        return {**config, **self.options}

    # -- the distribution -------------------------------------------------------------
    def distribution(self, params: Any) -> dist.Distribution:
        """The distribution parameterized by `params` (this head's outputs).

        Batch shape: `params.shape[:-1]` (with the member axis, if any); with
        target scaling, in the targets' units.
        """
        distribution = self.family_class.from_unconstrained(params, **self.options)
        if not self.target_scaling:
            return distribution
        shift, scale = self.target_shift, self.target_scale
        if distribution.event_shape == ():
            shift, scale = shift[0], scale[0]
        return dist.affine(distribution, shift, scale)

    def nll(self, y_true: Any, y_pred: Any) -> Any:
        """Per-example negative log-likelihood of `y_true` under the output `y_pred`.

        `y_true` has shape `(batch,)` or `(batch, 1)` for scalar targets and
        `(batch, E)` for E-dimensional ones (plus any extra batch axes of the
        head). For an ensemble the loss is the mean of the members' NLLs (on
        one model's scale); extra batch axes are summed (independent targets).
        """
        log_prob = self.member_log_prob(y_true, y_pred)
        if self.has_members(y_pred):
            log_prob = ops.mean(log_prob, axis=1)
        return -log_prob

    def has_members(self, y_pred: Any) -> bool:
        """Whether `y_pred` (this head's output) has a member axis (axis 1)."""
        return self.ensemble_size is not None and len(y_pred.shape) == 3

    def member_log_prob(self, y_true: Any, y_pred: Any) -> Any:
        """log p(y_true) per object, `(batch,)`, or per object and member, `(batch, M)`.

        Extra batch axes of the head (several targets per object) are summed.
        """
        distribution = self.distribution(y_pred)
        members = self.has_members(y_pred)
        log_prob = distribution.log_prob(self.align_targets(y_true, distribution, members))
        while len(log_prob.shape) > 1 + members:
            log_prob = ops.sum(log_prob, axis=-1)
        return log_prob

    def predictive_log_prob(self, y_true: Any, y_pred: Any) -> Any:
        """log of the predictive density at `y_true`, `(batch,)`: for an ensemble, of the
        equal-weight mixture of the members (log-mean-exp), as `predict_distribution` gives."""
        log_prob = self.member_log_prob(y_true, y_pred)
        if self.has_members(y_pred):
            m = ops.cast(ops.shape(log_prob)[1], log_prob.dtype)
            log_prob = ops.logsumexp(log_prob, axis=1) - ops.log(m)
        return log_prob

    def align_targets(self, y_true: Any, distribution: dist.Distribution, members: bool) -> Any:
        """`y_true` shaped as the distribution's values (a member axis of 1 inserted)."""
        y = ops.convert_to_tensor(y_true)
        batch = tuple(distribution.batch_shape)
        if members:
            batch = batch[:1] + batch[2:]
        expected = len(batch) + len(distribution.event_shape)
        y = self._convert_targets(y, distribution, expected)
        if len(y.shape) == expected + 1 and y.shape[-1] == 1:
            y = ops.squeeze(y, -1)
        if len(y.shape) != expected:
            raise ValueError(
                f"y_true of shape {tuple(y.shape)} does not match the targets of "
                f"{type(self).__name__} ({distribution!r}): expected shape "
                f"{('batch',) + batch[1:] + tuple(distribution.event_shape)}."
            )
        y = ops.cast(y, keras.backend.floatx()) if not _is_integer_family(distribution) else y
        if members:
            y = ops.expand_dims(y, 1)
        return y

    def _convert_targets(self, y: Any, distribution: dist.Distribution, expected: int) -> Any:
        """Family-specific target conversions (one-hot <-> labels); identity by default."""
        return y

    def __repr__(self) -> str:
        return f"<{type(self).__name__} family={self.family!r} options={self.options}>"


def _family_options(family_class: type[dist.Distribution], options: dict) -> dict[str, Any]:
    """The family's validated options; unknown ones are named in the error."""
    try:
        return family_class.check_options(**options)
    except TypeError as error:
        import inspect

        allowed = [p for p in inspect.signature(family_class.check_options).parameters]
        raise ValueError(
            f"Unknown option for the {family_class.family or family_class.__name__} family: "
            f"{error}. Its options are {allowed}."
        ) from None


def _is_integer_family(distribution: dist.Distribution) -> bool:
    return isinstance(distribution, dist.Categorical) and not isinstance(
        distribution, dist.OneHotCategorical
    )


keras.saving.register_keras_serializable(package="likely")(DistributionHead)


@keras.saving.register_keras_serializable(package="likely")
class IndependentNormal(DistributionHead):
    """Gaussian head: `event_size` independent normals.

    Takes `params_size(event_size) = 2 * event_size` inputs: the locations,
    then unconstrained scales mapped through `softplus(x) + min_scale`.
    Event size 1 gives `likely.distributions.Normal` (scalar events), more
    gives `Independent(Normal, 1)`.

    Args:
        event_size: Number of target dimensions E.
        min_scale: Floor added to every scale, keeping the likelihood bounded.
        **kwargs: `ensemble_size` and base layer keyword arguments (`name`, `dtype`).

    Example:
        >>> import keras, likely
        >>> model = keras.Sequential([
        ...     keras.Input((3,)),
        ...     keras.layers.Dense(likely.layers.IndependentNormal.params_size(1)),
        ...     likely.layers.IndependentNormal(1),
        ... ])
        >>> model.output_shape
        (None, 2)
    """

    def __init__(
        self, event_size: int = 1, *, min_scale: float = DEFAULT_MIN_SCALE, **kwargs: Any
    ) -> None:
        kwargs.pop("family", None)
        super().__init__("normal", event_size=event_size, min_scale=min_scale, **kwargs)

    @staticmethod
    def params_size(event_size: int = 1) -> int:
        """Number of inputs the head needs: E locations and E scales."""
        return dist.Normal.params_size(event_size)

    @property
    def event_size(self) -> int:
        return self.options["event_size"]

    @property
    def min_scale(self) -> float:
        return self.options["min_scale"]


@keras.saving.register_keras_serializable(package="likely")
class MixtureNormal(DistributionHead):
    """Mixture density head: K normal components over `event_size` dimensions.

    Takes `params_size(K, E) = K * (1 + 2E)` inputs in the TFP layout: K
    logits, then K*E locations, then K*E unconstrained scales (mapped through
    `softplus(x) + min_scale`). Gives `likely.distributions.MixtureNormal`.

    Args:
        num_components: Number of mixture components K.
        event_size: Number of target dimensions E.
        min_scale: Floor added to every scale.
        **kwargs: `ensemble_size` and base layer keyword arguments.

    Example:
        >>> import keras, likely
        >>> model = keras.Sequential([
        ...     keras.Input((3,)),
        ...     keras.layers.Dense(likely.layers.MixtureNormal.params_size(5, 1)),
        ...     likely.layers.MixtureNormal(5, 1),
        ... ])
        >>> model.output_shape
        (None, 15)
    """

    def __init__(
        self,
        num_components: int,
        event_size: int = 1,
        *,
        min_scale: float = DEFAULT_MIN_SCALE,
        **kwargs: Any,
    ) -> None:
        kwargs.pop("family", None)
        super().__init__(
            "mixture",
            num_components=num_components,
            event_size=event_size,
            min_scale=min_scale,
            **kwargs,
        )

    @staticmethod
    def params_size(num_components: int, event_size: int = 1) -> int:
        """Number of inputs the head needs: K logits, K*E locations, K*E scales."""
        return dist.MixtureNormal.params_size(num_components, event_size)

    @property
    def num_components(self) -> int:
        return self.options["num_components"]

    @property
    def event_size(self) -> int:
        return self.options["event_size"]

    @property
    def min_scale(self) -> float:
        return self.options["min_scale"]
