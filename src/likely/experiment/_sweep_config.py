"""The file of `likely sweep`: a `likely train` config plus a search space over its own fields.

    data: {train: table.csv, features: [x1, x2], target: y}
    model: {hidden: [32, 32], num_components: 3}
    training: {epochs: 50, seed: 0}
    search:                                  # dotted paths of this very config
      model.num_components: {type: int, low: 1, high: 8}
      training.learning_rate: {type: float, low: 1.0e-4, high: 1.0e-2, log: true}
      model.activation: {type: categorical, choices: [relu, gelu]}
    study: {name: my-sweep, storage: sqlite:///likely-sweeps.db, sampler_seed: 0}

Each trial is the config with the sampled values set, validated again by
`likely.experiment.Config` and trained as `likely train` trains it. Every
search key and every value a range or a list can give is checked before any
training; problems are one-line `ConfigError`s.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from likely.errors import ConfigError
from likely.experiment._config import Config, _Section, format_validation_error

SEARCHABLE = (
    "model.",
    "training.",
    "evaluation.recalibrate",
    "data.photometry.convolve_errors",
    "data.photometry.error_samples",
)
"""Prefixes of the fields a search may set: what is trained, never which rows are scored."""

_FIXED_REASONS = {
    "training.seed": "it seeds the split every trial is scored on; set it once in training.seed",
    "training.backend": "a sweep runs in one Keras backend; set it once in training.backend",
    "data": "it changes which rows are read, trained on or scored, so trials would not compare",
    "evaluation": "it does not change the trained model",
    "tracking": "tracking belongs to the sweep, not to a trial",
}

_OLD_FORMAT = (
    "is a sweep file of likely 0.1 (a `sweep.space` section over hidden_units, components, "
    "validation_split); a sweep file is now a `likely train` config plus a `search` section, "
    "e.g. `search: {model.num_components: {type: int, low: 1, high: 8}}` "
    "(see docs/how-to/sweeps.md)"
)


class SearchSpace(_Section):
    """The values one field may take: an int or float range (optionally log-uniform) or a list."""

    type: Literal["int", "float", "categorical"] = Field(
        description="int or float: a range from `low` to `high`; categorical: one of `choices`."
    )
    low: float | None = Field(default=None, description="Lowest value of a range.")
    high: float | None = Field(default=None, description="Highest value of a range.")
    log: bool = Field(default=False, description="Sample a range uniformly in log (low > 0).")
    step: float | None = Field(
        default=None, gt=0, description="Spacing of the values of a range (not with log)."
    )
    choices: list[Any] | None = Field(
        default=None, description="The values of a categorical (numbers, strings, lists...)."
    )

    @model_validator(mode="after")
    def _consistent(self) -> SearchSpace:
        if self.type == "categorical":
            if not self.choices:
                raise ValueError("a categorical search needs a non-empty `choices` list")
            if self.low is not None or self.high is not None or self.log or self.step is not None:
                raise ValueError("a categorical search takes `choices`, not low/high/log/step")
            return self
        if self.low is None or self.high is None:
            raise ValueError(f"an {self.type} search needs `low` and `high`")
        if self.choices is not None:
            raise ValueError(f"an {self.type} search takes low/high, not `choices`")
        if self.low > self.high:
            raise ValueError(f"low must not exceed high, got low={self.low}, high={self.high}")
        if self.log and self.low <= 0:
            raise ValueError(f"a log search needs low > 0, got low={self.low}")
        if self.log and self.step is not None:
            raise ValueError("log and step exclude each other")
        if self.type == "int":
            bounds = (self.low, self.high, self.step or 1)
            if any(not float(v).is_integer() for v in bounds):
                raise ValueError(f"an int search needs whole low/high/step, got {bounds}")
        return self

    def spec(self) -> dict[str, Any]:
        """The description `likely.experiment.suggest` reads."""
        spec: dict[str, Any] = {"type": self.type}
        if self.type == "categorical":
            spec["choices"] = list(self.choices or [])
        elif self.type == "int":
            spec.update(low=int(self.low or 0), high=int(self.high or 0), log=self.log)
            spec["step"] = int(self.step or 1)
        else:
            spec.update(low=float(self.low or 0.0), high=float(self.high or 0.0), log=self.log)
            if self.step is not None:
                spec["step"] = float(self.step)
        return spec

    def probes(self) -> list[Any]:
        """Values checked before training: both ends and an inner point of a range, every choice."""
        if self.type == "categorical":
            return list(self.choices or [])
        low, high = float(self.low or 0.0), float(self.high or 0.0)
        if self.log:
            inner = math.exp(math.log(low) + 0.382 * (math.log(high) - math.log(low)))
        else:
            inner = low + 0.382 * (high - low)
        if self.type == "int":
            step = int(self.step or 1)
            inner_int = int(low) + step * int((inner - low) // step)
            return sorted({int(low), inner_int, int(low) + step * int((high - low) // step)})
        if self.step is not None:
            inner = low + self.step * round((inner - low) / self.step)
        return [low, inner, high]


class StudyConfig(_Section):
    """The Optuna study the trials belong to."""

    name: str = Field(
        default="likely-sweep",
        description="Study name; processes with the same name and storage share the study.",
    )
    storage: str | None = Field(
        default=None,
        description="Optuna storage URL (SQLite file or PostgreSQL); default "
        "sqlite:///likely-sweeps.db in the working directory.",
    )
    sampler_seed: int | None = Field(default=None, description="Seed of the TPE sampler.")
    pruning: bool = Field(
        default=True, description="Stop trials whose val_loss falls behind (median pruner)."
    )
    log_models: bool = Field(default=False, description="Log every trial's model to MLflow.")


class SweepConfig(Config):
    """A `likely sweep` file: a `likely.experiment.Config` plus `search` and `study`.

    Example:
        >>> from likely.experiment import SweepConfig
        >>> sweep = SweepConfig.model_validate({
        ...     "data": {"train": "t.csv", "features": ["x"], "target": "y"},
        ...     "search": {"model.num_components": {"type": "int", "low": 1, "high": 4}}})
        >>> sweep.trial_config({"model.num_components": 3}).model.num_components
        3
    """

    search: dict[str, SearchSpace] = Field(
        min_length=1, description="Dotted field paths of this config and the values they may take."
    )
    study: StudyConfig = Field(default_factory=StudyConfig)

    def base_config(self) -> Config:
        """The config without `search` and `study`: what `likely train` would train."""
        return Config.model_validate(self.model_dump(exclude={"search", "study"}))

    def trial_config(self, params: dict[str, Any], source: str = "sweep") -> Config:
        """The base config with `params` (dotted path -> value) set, validated like `likely train`.

        Raises:
            ConfigError: a value the config refuses, or one it would silently replace.
        """
        data = set_fields(self.model_dump(exclude={"search", "study"}), params)
        where = ", ".join(f"{path}={value!r}" for path, value in params.items())
        try:
            config = Config.model_validate(data)
        except ValidationError as error:
            raise ConfigError(format_validation_error(error, f"{source} ({where})")) from None
        for path, value in params.items():
            actual = get_field(config.model_dump(), path)
            if actual != value:
                raise ConfigError(
                    f"{source}: search key {path!r}: the value {value!r} becomes {actual!r} in "
                    "this config (e.g. num_components of a head without components); "
                    "search a field that takes effect"
                )
        return config


def set_fields(data: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """A copy of the nested dict `data` with each dotted path of `params` set.

    Example:
        >>> set_fields({"model": {"hidden": [8]}}, {"model.hidden": [4, 4]})
        {'model': {'hidden': [4, 4]}}
    """
    data = copy.deepcopy(data)
    for path, value in params.items():
        *parents, leaf = path.split(".")
        node = data
        for part in parents:
            node = node[part]
        node[leaf] = copy.deepcopy(value)
    return data


def get_field(data: dict[str, Any], path: str) -> Any:
    """The value at a dotted path of a nested dict (`None` where a section is absent)."""
    node: Any = data
    for part in path.split("."):
        if node is None:
            return None
        node = node[part]
    return node


def check_search_path(path: str, base: dict[str, Any], source: str = "sweep") -> None:
    """Refuses a search key that is not a searchable field of this config (one-line ConfigError)."""
    parts = path.split(".")
    section: Any = Config
    for depth, part in enumerate(parts):
        fields = section.model_fields
        where = ".".join(parts[:depth]) or "the config"
        if part not in fields:
            raise ConfigError(
                f"{source}: search key {path!r}: {where} has no field {part!r}; "
                f"its fields are {sorted(fields)}"
            )
        annotation = fields[part].annotation
        if getattr(annotation, "__origin__", None) is dict and depth == len(parts) - 2:
            break  # a key of a free-form mapping such as model.head_options
        inner = _section_class(annotation)
        if depth == len(parts) - 1:
            if inner is not None:
                raise ConfigError(
                    f"{source}: search key {path!r} names a section; name one of its fields "
                    f"({', '.join(f'{path}.{f}' for f in inner.model_fields)})"
                )
            break
        if inner is None:
            setting = ".".join(parts[: depth + 1])
            hint = (
                f"; search the whole list, e.g. {setting}: "
                "{type: categorical, choices: [[64, 64], [128, 128, 64]]}"
                if getattr(annotation, "__origin__", None) is list
                else ""
            )
            raise ConfigError(
                f"{source}: search key {path!r}: {setting} is a setting, not a section{hint}"
            )
        section = inner
    if path in _FIXED_REASONS or not path.startswith(SEARCHABLE):
        reason = _FIXED_REASONS.get(path) or _FIXED_REASONS.get(parts[0], "")
        raise ConfigError(f"{source}: search key {path!r} cannot be searched: {reason}")
    parent = ".".join(parts[:-1])
    if parent and get_field(base, parent) is None:
        raise ConfigError(
            f"{source}: search key {path!r} sets a field of {parent}, which this config "
            "leaves out (null); add the section to the config first"
        )


def _section_class(annotation: Any) -> Any:
    """The pydantic section class inside an annotation (`X | None` included), else None."""
    import inspect

    from pydantic import BaseModel

    stack = [annotation]
    while stack:
        candidate = stack.pop()
        if inspect.isclass(candidate) and issubclass(candidate, BaseModel):
            return candidate
        stack.extend(getattr(candidate, "__args__", ()))
    return None


def parse_sweep_config(data: Any, source: str = "sweep") -> SweepConfig:
    """Validates a sweep file's dict: the config, the search keys and every value they can take.

    Raises:
        ConfigError: one line naming the field or search key, the value and what is allowed.

    Example:
        >>> from likely.experiment import parse_sweep_config
        >>> parse_sweep_config({
        ...     "data": {"train": "t.csv", "features": ["x"], "target": "y"},
        ...     "search": {"model.units": {"type": "int", "low": 1, "high": 4}}})
        Traceback (most recent call last):
        likely.errors.ConfigError: sweep: search key 'model.units': model has no field 'units'; ...
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of sections, got {type(data).__name__}")
    if "sweep" in data:
        raise ConfigError(f"{source} {_OLD_FORMAT}")
    if "search" not in data:
        raise ConfigError(
            f"{source}: a sweep file needs a `search` section of dotted config fields, e.g. "
            "`search: {training.learning_rate: {type: float, low: 1.0e-4, high: 1.0e-2, "
            "log: true}}` (see docs/how-to/sweeps.md)"
        )
    try:
        sweep = SweepConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(format_validation_error(error, source)) from None
    if sweep.training.seed is None:
        raise ConfigError(
            f"{source}: field `training.seed` must be a number in a sweep file (it fixes the "
            "rows every trial is scored on); received None"
        )
    base = sweep.model_dump(exclude={"search", "study"})
    for path, space in sweep.search.items():
        check_search_path(path, base, source)
        for value in space.probes():
            sweep.trial_config({path: value}, source=source)
    return sweep


def load_sweep_config(path: str | Path) -> SweepConfig:
    """Reads and validates a `likely sweep` YAML file (see `parse_sweep_config`)."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"sweep file {str(path)!r} does not exist")
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ConfigError(f"cannot read sweep file {str(path)!r}: {first_line}") from None
    return parse_sweep_config(data or {}, source=str(path))
