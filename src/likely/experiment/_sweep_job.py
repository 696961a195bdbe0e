"""`likely sweep`: trials of a sweep file, each trained as `likely train` trains; the best is saved.

A trial is the sweep file's config with the sampled values set
(`SweepConfig.trial_config`), fitted by `fit_table` on the same checked
table: the same preprocessing, seeded three-way split, network, optimizer
and recalibration as `likely train`. Its objective is the mean negative
log-likelihood of the trained model, recalibration included, on the
early-stopping rows (the rows whose `val_loss` the pruner watches). The
sweep never reads `data.test`.

The output folder holds the best trial so far: `model.keras`,
`best-config.yaml` (the resolved config; `likely train` on it retrains the
same model and evaluates and tracks it) and `best.json`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np

from likely.errors import ConfigError, InputError
from likely.experiment._config import Config
from likely.experiment._fit import FitResult, _predict, split_rows
from likely.experiment._pipeline import fit_table, input_columns, load_table
from likely.experiment._sweep import DEFAULT_STORAGE, SweepResult, run_sweep, suggest
from likely.experiment._sweep_config import SweepConfig, load_sweep_config

DEFAULT_SWEEPS_DIR = Path("likely-sweeps")
"""Output folders of sweeps: `likely-sweeps/<study name>` unless one is given."""

OBJECTIVE = "held-out NLL (recalibrated model, early-stopping rows)"


def held_out_nll(fitted: FitResult, x: np.ndarray, y: np.ndarray) -> float:
    """Mean NLL of a fit's model (its recalibration included) on the fit's early-stopping rows.

    `x` and `y` are the arrays the fit was given.
    """
    from likely import metrics

    rows = fitted.split.stop
    predictive = _predict(fitted.model, x[rows], fitted.seed, recalibrated=True)
    if predictive.event_shape == ():
        return float(metrics.nll(y[rows], predictive))
    return float(-np.mean(keras.ops.convert_to_numpy(predictive.log_prob(y[rows]))))


def sweep_from_config(
    config: SweepConfig | str | os.PathLike,
    n_trials: int,
    *,
    output_dir: str | os.PathLike | None = None,
    storage: str | None = None,
    study_name: str | None = None,
    tracking: bool | None = None,
    echo: Callable[[str], None] | None = None,
) -> SweepResult:
    """Runs `n_trials` trials of a sweep file and keeps the best model (arguments beat the file).

    Args:
        config: A `SweepConfig` or the path of its YAML file.
        n_trials: Trials this call runs (several processes may share the study).
        output_dir: Folder of the best trial (default `likely-sweeps/<study name>`).
        storage: Optuna storage URL (default `study.storage`, else sqlite:///likely-sweeps.db).
        study_name: Study name (default `study.name`).
        tracking: False: no MLflow runs; None: the config's `tracking.enabled`.
        echo: Called with one line per finished trial.

    Returns:
        A `SweepResult`; `output_dir` holds `model.keras`, `best-config.yaml`
        and `best.json` of the study's best trial once one has completed.

    Raises:
        ConfigError: the file, a search key or a value it can take is invalid,
            or the table has no early-stopping rows; nothing was trained.

    Example:
        >>> import os, tempfile
        >>> import numpy as np, pandas as pd
        >>> from likely.experiment import SweepConfig, sweep_from_config
        >>> folder = tempfile.mkdtemp()
        >>> x = np.random.default_rng(0).uniform(-1, 1, 120)
        >>> pd.DataFrame({"x": x, "y": x + 0.1 * np.sin(9 * x)}).to_csv(
        ...     os.path.join(folder, "t.csv"), index=False)
        >>> sweep = SweepConfig.model_validate({
        ...     "data": {"train": os.path.join(folder, "t.csv"), "features": ["x"], "target": "y"},
        ...     "model": {"hidden": [4], "num_components": 1}, "training": {"epochs": 2},
        ...     "search": {"training.learning_rate":
        ...         {"type": "float", "low": 0.001, "high": 0.01, "log": True}},
        ...     "study": {"storage": "sqlite:///" + os.path.join(folder, "s.db")}})
        >>> result = sweep_from_config(sweep, 1, output_dir=os.path.join(folder, "out"),
        ...                            tracking=False)
        >>> result.n_trials, sorted(os.listdir(result.output_dir))
        (1, ['best-config.yaml', 'best.json', 'model.keras', 'trials'])
    """
    from likely.callbacks import MlflowLogger

    if not isinstance(config, SweepConfig):
        config = load_sweep_config(config)
    base = config.base_config()
    name = study_name or config.study.name
    storage = storage or config.study.storage or DEFAULT_STORAGE
    output = Path(output_dir) if output_dir is not None else default_output(name)
    check_sweep_output(output, name, storage)
    frame = load_table(base.data, base.data.train)  # bad input fails before any training
    seed = int(base.training.seed or 0)
    if not len(split_rows(len(frame), base.data.validation_fraction, seed).stop):
        raise ConfigError(
            f"a sweep scores each trial on its early-stopping rows, and {base.data.train} gives "
            f"none ({len(frame)} rows, data.validation_fraction="
            f"{base.data.validation_fraction}): use at least 50 rows and a fraction > 0"
        )
    x = frame[input_columns(base.data)].to_numpy(dtype="float32")
    y = frame[base.data.target].to_numpy(dtype="float32")
    space = {path: search.spec() for path, search in config.search.items()}

    def train_trial(trial: Any, callbacks: list[keras.callbacks.Callback]) -> float:
        trial_config = config.trial_config(suggest(trial, space), source=f"trial {trial.number}")
        for callback in callbacks:
            if isinstance(callback, MlflowLogger):
                callback.config = trial_config.model_dump(mode="json")
                callback.seed = trial_config.training.seed
        fitted = fit_table(trial_config, frame, callbacks=callbacks, progress=False)
        value = held_out_nll(fitted, x, y)
        if np.isfinite(value) and _beats_completed(trial, value):
            save_trial(output / "trials" / str(trial.number), fitted.model, trial_config)
        return value

    def after_trial(study: Any, trial: Any) -> None:
        best = publish_best(output, study, name, storage)
        if echo is not None:
            state = trial.state.name.lower()
            value = f" {trial.value:.5g}" if trial.value is not None else ""
            tail = f"; best {best.value:.5g} (trial {best.number})" if best is not None else ""
            echo(f"trial {trial.number}: {state}{value}{tail}")

    with _tracking_uri(base.tracking.tracking_uri):
        result = run_sweep(
            train_trial,
            n_trials,
            study_name=name,
            storage=storage,
            direction="minimize",
            monitor="val_loss",
            sampler_seed=config.study.sampler_seed,
            experiment=base.tracking.experiment,
            tracking=tracking if tracking is not None else base.tracking.enabled,
            log_models=config.study.log_models,
            settings={"train": base.data.train, "objective": OBJECTIVE, "space": space},
            pruning=config.study.pruning,
            after_trial=after_trial,
        )
    result.output_dir = output
    result.best_params = {
        path: _decoded(config.search[path].choices, value) if path in config.search else value
        for path, value in result.best_params.items()
    }
    if (output / "best.json").is_file():
        best = json.loads((output / "best.json").read_text())
        result.best_trial = best["trial"]
        result.best_config = output / "best-config.yaml"
        result.model_path = output / "model.keras"
    return result


@contextlib.contextmanager
def _tracking_uri(uri: str | None) -> Any:
    """`tracking.tracking_uri` of the config for the sweep's runs (as `likely train` sets it)."""
    if not uri:
        yield
        return
    import mlflow

    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(previous)


def default_output(study_name: str) -> Path:
    """`likely-sweeps/<study name>`, the name made safe for a folder."""
    return DEFAULT_SWEEPS_DIR / (re.sub(r"[^A-Za-z0-9_.-]+", "-", study_name) or "sweep")


def check_sweep_output(output: Path, study_name: str, storage: str) -> None:
    """Refuses a folder that holds the best trial of another study."""
    marker = output / "best.json"
    if not marker.is_file():
        return
    try:
        best = json.loads(marker.read_text())
    except (OSError, ValueError):
        best = {}
    if (best.get("study"), best.get("storage")) != (study_name, storage):
        raise InputError(
            f"{output} holds the best trial of study {best.get('study')!r} in "
            f"{best.get('storage')!r}, not {study_name!r} in {storage!r}; choose another --output"
        )


def _beats_completed(trial: Any, value: float) -> bool:
    import optuna

    completed = trial.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    return all(value <= t.value for t in completed)


def save_trial(folder: Path, model: keras.Model, config: Config) -> None:
    """A trial's `model.keras` and resolved `config.yaml`."""
    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    _replace(folder / "model.keras", model.save)
    text = yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
    _replace(folder / "config.yaml", lambda path: Path(path).write_text(text))


def _replace(target: Path, write: Callable[[Path], Any]) -> None:
    """Writes `target` through a temporary file in its folder, then renames it into place."""
    temporary = target.with_name(f".{target.stem}-{os.getpid()}.tmp{target.suffix}")
    try:
        write(temporary)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def publish_best(output: Path, study: Any, study_name: str, storage: str) -> Any:
    """Copies the study's best trial (when saved here) to the top of `output`; drops worse ones.

    Returns:
        The best `optuna.trial.FrozenTrial`, or None before any trial completed.
    """
    import optuna

    completed = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not completed:
        return None
    best = min(completed, key=lambda t: t.value)
    source = output / "trials" / str(best.number)
    if (source / "model.keras").is_file() and _published_trial(output) != best.number:
        header = (
            f"# Best trial ({best.number}) of the likely sweep study {study_name!r} ({storage}):\n"
            f"# {OBJECTIVE} = {best.value:.6g}.\n"
            f"# Retrain, evaluate and track it with: likely train {output / 'best-config.yaml'}\n"
        )
        text = header + (source / "config.yaml").read_text()
        _replace(output / "model.keras", lambda path: shutil.copyfile(source / "model.keras", path))
        _replace(output / "best-config.yaml", lambda path: Path(path).write_text(text))
        summary = {
            "study": study_name,
            "storage": storage,
            "trial": best.number,
            "value": best.value,
            "objective": OBJECTIVE,
            "params": best.params,
        }
        _replace(output / "best.json", lambda path: Path(path).write_text(json.dumps(summary)))
    worse = {t.number for t in completed if t.value > best.value}
    for folder in (output / "trials").glob("*"):
        if folder.name.isdigit() and int(folder.name) in worse:
            shutil.rmtree(folder, ignore_errors=True)
    return best


def _decoded(choices: list[Any] | None, value: Any) -> Any:
    """A categorical value as the file gave it (`suggest` stores lists as JSON text)."""
    if choices and isinstance(value, str) and value not in choices:
        decoded = json.loads(value)
        if decoded in choices:
            return decoded
    return value


def _published_trial(output: Path) -> int | None:
    try:
        return int(json.loads((output / "best.json").read_text())["trial"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
