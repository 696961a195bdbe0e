"""The run configuration: a YAML file validated by pydantic.

Every setting has a default, so a config names only what differs. An invalid
value raises `likely.errors.ConfigError` whose one-line message names the
field, the bad value and what is allowed.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from likely._constants import DEFAULT_MIN_SCALE
from likely.errors import ConfigError

BUILTIN_PREFIX = "dc2:"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class PhotometryConfig(_Section):
    """Magnitudes and errors of a photometric catalogue, turned into colours by the model."""

    bands: list[str] = Field(default=["u", "g", "r", "i", "z", "y"], min_length=2)
    magnitude: str = "mag_{band}_lsst"
    error: str = "mag_err_{band}_lsst"
    reference_band: str = "i"
    nondetection_value: float = Field(
        default=99.0,
        description="Magnitude at or above which a band is a non-detection; NaN always is one "
        "(a NaN here: NaN only).",
    )
    limits: dict[str, float] = Field(
        default_factory=dict,
        description="Limiting magnitude per band for non-detections; by default read "
        "from the error column of non-detections (the DC2 convention).",
    )
    convolve_errors: bool = Field(
        default=False,
        description="Train on magnitudes redrawn from N(magnitude, error) in every step "
        "(errors-in-variables, pzflow's convolve_errs); non-detections stay at their limit.",
    )
    error_samples: int = Field(
        default=0,
        ge=0,
        le=1000,
        description="> 0: predict the equal-weight mixture over this many draws of the "
        "magnitudes from their errors (pzflow's err_samples); 0: the catalogue magnitudes.",
    )

    @model_validator(mode="after")
    def _reference_is_a_band(self) -> PhotometryConfig:
        if self.reference_band not in self.bands:
            raise ValueError(
                f"reference_band {self.reference_band!r} is not one of bands {self.bands}"
            )
        unknown = sorted(set(self.limits) - set(self.bands))
        if unknown:
            raise ValueError(f"limits name unknown bands {unknown}; bands are {self.bands}")
        return self

    def magnitude_columns(self) -> list[str]:
        return [self.magnitude.format(band=b) for b in self.bands]

    def error_columns(self) -> list[str]:
        return [self.error.format(band=b) for b in self.bands]


class ShiftScoreConfig(_Section):
    """The covariate-shift score saved in the model (see `likely.experiment.shift_score`)."""

    enabled: bool = True
    neighbours: int = Field(default=10, ge=1, le=1000)
    reference_rows: int = Field(
        default=10_000,
        ge=10,
        le=1_000_000,
        description="Training rows kept in the model as the reference sample (a random subset).",
    )
    quantile: float = Field(
        default=0.99,
        gt=0.0,
        lt=1.0,
        description="Score 1 is this quantile of the training objects' own (leave-one-out) "
        "distances; a score above 1 is 'outside the training sample'.",
    )


class DataConfig(_Section):
    """Where the data is and which columns to use."""

    train: str = Field(description="Training table path, or dc2:train for the built-in sample.")
    test: str | None = Field(default=None, description="Evaluation table, if any.")
    format: Literal["csv", "parquet", "hdf5", "fits"] | None = None
    features: list[str] = Field(default_factory=list, description="Extra feature columns.")
    photometry: PhotometryConfig | None = None
    target: str
    id_column: str | None = None
    filters: list[str] = Field(default_factory=list, description="pandas query strings.")
    invalid_values: Literal["error", "drop"] = "error"
    validation_fraction: float = Field(
        default=0.2,
        ge=0.0,
        lt=0.9,
        description="Share of `train` held out: half for early stopping, half for the "
        "recalibration (none below 50 rows).",
    )
    shift_score: ShiftScoreConfig = Field(default_factory=ShiftScoreConfig)

    @model_validator(mode="after")
    def _has_features(self) -> DataConfig:
        if not self.features and self.photometry is None:
            raise ValueError("give data.features (column names) or a data.photometry block")
        return self


class ModelConfig(_Section):
    """The network: hidden layers and the probabilistic head."""

    hidden: list[int] = Field(default=[128, 128])
    activation: Literal["relu", "tanh", "gelu", "silu", "elu", "sigmoid"] = "relu"
    head: str = Field(
        default="mixture",
        description="Distribution family of the head: normal, mixture, student_t, lognormal, "
        "spline_flow, mixture_same_family, ... (likely.distributions.family_names()).",
    )
    num_components: int = Field(default=3, ge=1, le=100)
    head_options: dict[str, Any] = Field(
        default_factory=dict,
        description="Further options of the family, e.g. {low: 0.0, high: 3.5} for "
        "spline_flow, {component: student_t} for mixture_same_family.",
    )
    ensemble_size: int = Field(default=5, ge=1, le=100)
    variational: Literal["reparameterization", "flipout"] | None = None
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    min_scale: float = Field(default=DEFAULT_MIN_SCALE, ge=0.0)
    input_clip_margin: float | None = Field(
        default=0.1,
        ge=0.0,
        description="Standardized inputs are clipped to the training range widened by this "
        "share of its width on each side (likely.layers.ClipToRange), so that a row far "
        "outside the training sample is predicted as one at its edge, not by unbounded "
        "extrapolation; null: no clipping.",
    )

    @field_validator("head")
    @classmethod
    def _registered_family(cls, head: str) -> str:
        from likely.distributions import family_names

        if head not in family_names():
            raise ValueError(f"unknown head {head!r}; choose one of {list(family_names())}")
        return head

    @field_validator("hidden")
    @classmethod
    def _positive_widths(cls, hidden: list[int]) -> list[int]:
        if any(width < 1 for width in hidden):
            raise ValueError(f"every hidden width must be >= 1, got {hidden}")
        return hidden

    @model_validator(mode="after")
    def _components_only_for_mixtures(self) -> ModelConfig:
        # num_components defaults to 3 for `mixture`; families without components ignore it.
        if self.head not in ("mixture", "mixture_same_family") and self.num_components != 1:
            self.__dict__["num_components"] = 1
        return self

    @model_validator(mode="after")
    def _head_takes_its_options(self) -> ModelConfig:
        # Built once here, so that an unknown or bad option is a config error at load,
        # not a traceback after the data are read.
        from likely.models import head_layer

        try:
            head_layer(
                self.head,
                num_components=self.num_components,
                min_scale=self.min_scale,
                head_options=dict(self.head_options),
                ensemble_size=self.ensemble_size if self.ensemble_size > 1 else None,
            )
        except (TypeError, ValueError) as error:
            options = self.head_options
            raise ValueError(f"head {self.head!r} with head_options {options}: {error}") from None
        return self


class EarlyStoppingConfig(_Section):
    enabled: bool = True
    patience: int = Field(default=20, ge=1)
    monitor: Literal["calibrated_nll", "val_loss"] = Field(
        default="calibrated_nll",
        description="calibrated_nll: the held-out NLL after the best scale recalibration "
        "(likely.callbacks.CalibratedEarlyStopping); val_loss: the raw held-out loss, which "
        "stops when the spreads turn overconfident, often long before the mean stops improving.",
    )


AUTO_BATCH_RANGE = (32, 256)
"""`batch_size: auto`: the smallest power of two >= n/64, within this range."""


def auto_batch_size(n_rows: int) -> int:
    """The `auto` batch size for `n_rows` training rows: 32 steps per epoch or more below 8,192.

    Example:
        >>> [auto_batch_size(n) for n in (200, 800, 3_000, 8_000, 100_000)]
        [32, 32, 64, 128, 256]
    """
    low, high = AUTO_BATCH_RANGE
    return int(min(high, max(low, 2 ** math.ceil(math.log2(max(n_rows, 1) / 64)))))


WEIGHT_DECAY = 4e-3
"""`weight_decay: auto` on up to `WEIGHT_DECAY_ROWS` training rows."""
WEIGHT_DECAY_ROWS = 2_000


def auto_weight_decay(n_rows: int) -> float:
    """The `auto` AdamW weight decay for `n_rows` training rows: 4e-3, times 2,000/n above 2,000.

    Keras' AdamW decays the weights by a fixed fraction per step whatever the
    number of rows, while the loss is a mean over rows: the decay is a prior
    whose weight against the data must fall as 1/n, as a Gaussian prior's
    does against a summed log-likelihood. The constants were screened on
    data sets of 200 to 200,000 rows (`benchmarks/RESULTS-defaults-screen.md`).

    Example:
        >>> [auto_weight_decay(n) for n in (200, 2_000, 20_000, 200_000)]
        [0.004, 0.004, 0.0004, 4e-05]
    """
    return WEIGHT_DECAY * min(1.0, WEIGHT_DECAY_ROWS / max(n_rows, 1))


class TrainingConfig(_Section):
    """Optimization settings."""

    optimizer: Literal["adam", "adamw"] = "adamw"
    learning_rate: float = Field(default=2e-3, gt=0.0, le=1.0)
    schedule: Literal["constant", "cosine"] = "cosine"
    weight_decay: Annotated[float, Field(ge=0.0)] | Literal["auto"] = Field(
        default="auto",
        description="AdamW weight decay, or auto: 4e-3 on up to 2,000 training rows, "
        "4e-3 x 2,000/n above (the decay's weight against the mean loss falls as 1/n).",
    )
    batch_size: Annotated[int, Field(ge=1)] | Literal["auto"] = Field(
        default="auto",
        description="Rows per step, or auto: the smallest power of two >= (training rows)/64, "
        "between 32 and 256 (enough steps per epoch on small tables).",
    )
    epochs: int = Field(default=200, ge=1)
    steps_per_execution: int = Field(
        default=32,
        ge=1,
        description="Training steps per compiled call; amortizes Python overhead (Keras: 1; "
        "the PyTorch backend always runs 1).",
    )
    early_stopping: EarlyStoppingConfig = Field(default_factory=EarlyStoppingConfig)
    seed: int | None = Field(default=0, description="Seed of the run; null draws a fresh one.")
    backend: Literal["jax", "torch", "tensorflow"] | None = Field(
        default=None, description="Keras backend; None: KERAS_BACKEND, else jax."
    )
    devices: Literal["all"] | Annotated[int, Field(ge=1)] | None = Field(
        default=None,
        description='Data-parallel training over "all" or N devices (jax backend); None: one.',
    )


class EvaluationConfig(_Section):
    """What to compute on the test table."""

    kind: Literal["regression", "photoz"] = "regression"
    plots: bool = True
    recalibrate: Literal["auto", "none", "scale", "isotonic"] = Field(
        default="auto",
        description="Recalibration fitted on held-out rows and stored in the model: auto "
        "chooses none, scale or isotonic by held-out NLL.",
    )

    @field_validator("recalibrate", mode="before")
    @classmethod
    def _old_booleans(cls, value: Any) -> Any:
        # Configs written before the choice existed said true (isotonic) or false.
        if isinstance(value, bool):
            return "isotonic" if value else "none"
        return value

    quantiles: list[float] = Field(default=[0.05, 0.16, 0.5, 0.84, 0.95])

    @field_validator("quantiles")
    @classmethod
    def _probabilities(cls, quantiles: list[float]) -> list[float]:
        if any(not 0.0 < q < 1.0 for q in quantiles):
            raise ValueError(f"quantiles must lie in (0, 1), got {quantiles}")
        return quantiles


class TrackingConfig(_Section):
    """MLflow tracking (on by default)."""

    enabled: bool = True
    experiment: str = "likely"
    run_name: str | None = None
    tracking_uri: str | None = None


class Config(_Section):
    """A whole run: data, model, training, evaluation, tracking.

    Example:
        >>> from likely.experiment import Config
        >>> config = Config.model_validate(
        ...     {"data": {"train": "t.csv", "features": ["x"], "target": "y"}})
        >>> config.model.head, config.training.epochs
        ('mixture', 200)
    """

    data: DataConfig
    model: ModelConfig = Field(default_factory=ModelConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)


def format_validation_error(error: ValidationError, source: str) -> str:
    """One line per problem: `field`: what was received, what is allowed."""
    problems = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"]) or "(top level)"
        received = item.get("input")
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown field (check the spelling; `likely init` writes every field)"
        elif item["type"] == "missing":
            problems.append(f"{source}: field `{field}` is required")
            continue
        elif item["type"] == "value_error":
            message = message.removeprefix("Value error, ")
        if isinstance(received, dict):  # a check across a section's fields: the message says
            problems.append(f"{source}: field `{field}`: {message}")
            continue
        problems.append(f"{source}: field `{field}`: {message}; received {received!r}")
    return "; ".join(problems)


def parse_config(data: dict[str, Any], source: str = "config") -> Config:
    """Validates a config dict, raising ConfigError with a readable message."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of sections, got {type(data).__name__}")
    try:
        return Config.model_validate(data)
    except ValidationError as error:
        raise ConfigError(format_validation_error(error, source)) from None


def load_config(path: str | Path) -> Config:
    """Reads and validates a YAML config file."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ConfigError(f"cannot read config {str(path)!r}: {first_line}") from None
    return parse_config(data or {}, source=str(path))


def resolved_training(training: TrainingConfig, n_rows: int) -> TrainingConfig:
    """`training` with `batch_size` and `weight_decay: auto` resolved for `n_rows` training rows."""
    update: dict[str, Any] = {}
    if training.batch_size == "auto":
        update["batch_size"] = auto_batch_size(n_rows)
    if training.weight_decay == "auto":
        update["weight_decay"] = auto_weight_decay(n_rows)
    return training.model_copy(update=update) if update else training
