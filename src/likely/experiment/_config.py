"""The run configuration: a YAML file validated by pydantic.

Every setting has a default, so a config names only what differs. An invalid
value raises `likely.errors.ConfigError` whose one-line message names the
field, the bad value and what is allowed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

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
    nondetection_value: float = 99.0
    limits: dict[str, float] = Field(
        default_factory=dict,
        description="Limiting magnitude per band for non-detections; by default read "
        "from the error column of non-detections (the DC2 convention).",
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
    validation_fraction: float = Field(default=0.15, ge=0.0, lt=0.9)

    @model_validator(mode="after")
    def _has_features(self) -> DataConfig:
        if not self.features and self.photometry is None:
            raise ValueError("give data.features (column names) or a data.photometry block")
        return self


class ModelConfig(_Section):
    """The network: hidden layers and the probabilistic head."""

    hidden: list[int] = Field(default=[128, 128, 64])
    activation: Literal["relu", "tanh", "gelu", "silu", "elu", "sigmoid"] = "relu"
    head: Literal["normal", "mixture"] = "mixture"
    num_components: int = Field(default=10, ge=1, le=100)
    ensemble_size: int = Field(default=1, ge=1, le=100)
    variational: Literal["reparameterization", "flipout"] | None = None
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    min_scale: float = Field(default=1e-3, ge=0.0)

    @field_validator("hidden")
    @classmethod
    def _positive_widths(cls, hidden: list[int]) -> list[int]:
        if any(width < 1 for width in hidden):
            raise ValueError(f"every hidden width must be >= 1, got {hidden}")
        return hidden

    @model_validator(mode="after")
    def _normal_has_one_component(self) -> ModelConfig:
        if self.head == "normal" and self.num_components != 1:
            self.__dict__["num_components"] = 1
        return self


class EarlyStoppingConfig(_Section):
    enabled: bool = True
    patience: int = Field(default=15, ge=1)


class TrainingConfig(_Section):
    """Optimization settings."""

    optimizer: Literal["adam", "adamw"] = "adamw"
    learning_rate: float = Field(default=2e-3, gt=0.0, le=1.0)
    schedule: Literal["constant", "cosine"] = "cosine"
    weight_decay: float = Field(default=4e-3, ge=0.0)
    batch_size: int = Field(default=256, ge=1)
    epochs: int = Field(default=200, ge=1)
    steps_per_execution: int = Field(
        default=32,
        ge=1,
        description="Training steps per compiled call; amortizes Python overhead (Keras: 1).",
    )
    early_stopping: EarlyStoppingConfig = Field(default_factory=EarlyStoppingConfig)
    seed: int = 0
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
    recalibrate: bool = False
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
