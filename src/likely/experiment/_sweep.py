"""Hyperparameter sweeps with Optuna: TPE, pruning on val_loss, a nested MLflow run per trial.

The engine takes a plain Python function `train_trial(trial, callbacks) ->
float` that builds and fits a model with the given Keras callbacks and
returns the objective, so any training code plugs in; `likely sweep`
(`sweep_from_config`) passes one that trains a `likely train` config.

Several processes may work on one study: give them the same `study_name` and
a database `storage` (SQLite file or PostgreSQL URL). The first trial's worker
creates the MLflow parent run and stores its id in the study, so every worker
nests its trials under the same parent.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import keras

DEFAULT_STORAGE = "sqlite:///likely-sweeps.db"
"""Optuna storage when none is given: a SQLite file in the working directory."""

PARENT_RUN_ATTR = "likely.mlflow_parent_run_id"
_PARENT_WAIT_S = 120.0


def _optuna() -> Any:
    try:
        import optuna
    except ImportError as err:  # pragma: no cover - optuna is a core dependency
        raise ImportError("Sweeps need Optuna: `pip install 'optuna>=4.2,<6'`.") from err
    return optuna


class PruningCallback(keras.callbacks.Callback):
    """Reports `monitor` to an Optuna trial each epoch and stops training when it should be pruned.

    Training stops cleanly (`stop_training`), so `on_train_end` callbacks such
    as `MlflowLogger` still run; `pruned` tells the sweep engine to record the
    trial as pruned.

    Args:
        trial: The `optuna.Trial`.
        monitor: Keras log key to report (default `val_loss`).

    Example:
        >>> import optuna
        >>> from likely.experiment import PruningCallback
        >>> trial = optuna.create_study().ask()
        >>> PruningCallback(trial).monitor
        'val_loss'
    """

    def __init__(self, trial: Any, monitor: str = "val_loss") -> None:
        super().__init__()
        self.trial = trial
        self.monitor = monitor
        self.pruned = False

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        if self.monitor not in logs:
            raise ValueError(
                f"PruningCallback monitors {self.monitor!r}, which this fit does not report. "
                f"Received logs with keys {sorted(logs)}; pass validation data or another monitor."
            )
        self.trial.report(float(logs[self.monitor]), step=epoch)
        if self.trial.should_prune():
            self.pruned = True
            self.model.stop_training = True


def suggest(trial: Any, space: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Draws one value per entry of a search space description.

    Each entry is `{"type": "float" | "int" | "categorical", ...}` with
    `low`, `high` and optional `log`/`step` for numbers, `choices` for categories
    (choices that are not numbers, strings or None, such as lists of hidden
    widths, are stored in the study as their JSON text).

    Example:
        >>> import optuna
        >>> from likely.experiment import suggest
        >>> trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).ask()
        >>> space = {"lr": {"type": "float", "low": 1e-3, "high": 1e-1, "log": True},
        ...          "act": {"type": "categorical", "choices": ["relu", "tanh"]}}
        >>> params = suggest(trial, space)
        >>> sorted(params), 1e-3 <= params["lr"] <= 1e-1
        (['act', 'lr'], True)
    """
    params: dict[str, Any] = {}
    for name, spec in space.items():
        kind = spec.get("type")
        if kind == "float":
            params[name] = trial.suggest_float(
                name, spec["low"], spec["high"], log=spec.get("log", False), step=spec.get("step")
            )
        elif kind == "int":
            params[name] = trial.suggest_int(
                name,
                spec["low"],
                spec["high"],
                log=spec.get("log", False),
                step=spec.get("step") or 1,
            )
        elif kind == "categorical":
            choices = list(spec["choices"])
            if all(c is None or isinstance(c, bool | int | float | str) for c in choices):
                params[name] = trial.suggest_categorical(name, choices)
            else:  # Optuna stores scalars only: lists (e.g. hidden widths) travel as JSON text
                labels = [json.dumps(c) for c in choices]
                params[name] = choices[labels.index(trial.suggest_categorical(name, labels))]
        else:
            raise ValueError(
                f"Search space entry {name!r} must have type float, int or categorical. "
                f"Received: type={kind!r}"
            )
    return params


@dataclasses.dataclass
class SweepResult:
    """What a sweep found.

    Attributes:
        study_name: The Optuna study.
        storage: Its storage URL.
        best_value: Best objective over the study's completed trials (None if none).
        best_params: Parameters of that trial.
        n_trials: Trials in the study (all workers, all states).
        trial_numbers: Trials run by this call.
        parent_run_id: MLflow parent run of the trials (None when not tracked).
        output_dir: Folder of the best trial (sweeps of a config file).
        best_trial: Number of the trial saved there, if any.
        best_config: Its resolved config, `best-config.yaml`.
        model_path: Its model, `model.keras`.
    """

    study_name: str
    storage: str
    best_value: float | None
    best_params: dict[str, Any]
    n_trials: int
    trial_numbers: list[int]
    parent_run_id: str | None
    output_dir: Path | None = None
    best_trial: int | None = None
    best_config: Path | None = None
    model_path: Path | None = None


def load_study(
    study_name: str, storage: str | None, direction: str, sampler_seed: int | None
) -> Any:
    """Creates or loads a study with a TPE sampler and a median pruner (safe for racing workers)."""
    optuna = _optuna()
    if direction not in ("minimize", "maximize"):
        raise ValueError(
            f"Argument `direction` must be 'minimize' or 'maximize'. Received: {direction!r}"
        )
    sampler = optuna.samplers.TPESampler(seed=sampler_seed, n_startup_trials=5)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=2)
    storage = storage or DEFAULT_STORAGE
    for attempt in range(5):
        try:
            return optuna.create_study(
                study_name=study_name,
                storage=storage,
                direction=direction,
                sampler=sampler,
                pruner=pruner,
                load_if_exists=True,
            )
        except Exception as error:  # noqa: BLE001 - two workers creating the tables at once
            if attempt == 4:
                from likely.errors import InputError, first_line

                raise InputError(
                    f"cannot open the Optuna study {study_name!r} in storage {storage!r}: "
                    f"{first_line(error)}"
                ) from error
            time.sleep(0.5 * (attempt + 1))
    raise AssertionError("unreachable")


def _parent_run(study: Any, trial: Any, experiment: str | None, settings: dict) -> Any:
    """The sweep's parent run: made by the worker of trial 0, found in the study by the others."""
    from likely.tracking import _run

    deadline = time.monotonic() + _PARENT_WAIT_S
    while True:
        run_id = study.user_attrs.get(PARENT_RUN_ATTR)
        if run_id:
            run = _run.attach_run(run_id)
            run.owned = True  # every worker ends it when it is done
            run._send(
                lambda c, rid=run_id: c.update_run(rid, status="RUNNING"),
                lambda r: None,
                recorded=False,
            )
            return run
        first = min(t.number for t in study.get_trials(deepcopy=False))
        if trial.number == first or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    run = _run.open_run(
        experiment, run_name=study.study_name, tags={"optuna.study": study.study_name}
    )
    run.log_params({f"sweep.{k}": v for k, v in settings.items()})
    if run.run_id is not None:
        study.set_user_attr(PARENT_RUN_ATTR, run.run_id)
    return run


def _summarize(parent: Any, study: Any) -> tuple[float | None, dict[str, Any]]:
    optuna = _optuna()
    completed = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not completed:
        return None, {}
    best = study.best_trial
    if parent is not None:
        parent.log_metrics({"best_value": best.value}, step=len(completed))
        parent.set_tags({f"best.{k}": v for k, v in best.params.items()})
        parent.set_tags({"best.trial": best.number, "best.value": best.value})
        parent.log_dict(
            {"value": best.value, "params": best.params, "trial": best.number}, "best.json"
        )
    return float(best.value), dict(best.params)


def run_sweep(
    train_trial: Callable[[Any, list[keras.callbacks.Callback]], float],
    n_trials: int,
    *,
    study_name: str = "likely-sweep",
    storage: str | None = None,
    direction: str = "minimize",
    monitor: str = "val_loss",
    sampler_seed: int | None = None,
    experiment: str | None = None,
    tracking: bool | None = None,
    log_models: bool = False,
    settings: Mapping[str, Any] | None = None,
    pruning: bool = True,
    after_trial: Callable[[Any, Any], None] | None = None,
) -> SweepResult:
    """Runs `n_trials` Optuna trials (in this process) of `train_trial`, each a nested MLflow run.

    Args:
        train_trial: `train_trial(trial, callbacks) -> float` draws its
            parameters from `trial` (e.g. with `suggest`), fits with
            `callbacks` (pruning and MLflow logging) and returns the objective.
        n_trials: Trials this call runs (Optuna's `n_trials`: per worker).
        study_name: Optuna study name; workers with the same name and storage share it.
        storage: Optuna storage URL (default `sqlite:///likely-sweeps.db`).
        direction: "minimize" or "maximize".
        monitor: Metric the pruning callback reports each epoch.
        sampler_seed: Seed of the TPE sampler.
        experiment: MLflow experiment of the parent and trial runs.
        tracking: False: Optuna only; None reads `LIKELY_TRACKING`.
        log_models: Log each trial's model too (slower).
        settings: Facts about the sweep to log as params on the parent run.
        pruning: False: no pruning callback (every trial runs to its end).
        after_trial: Called as `after_trial(study, frozen_trial)` after each
            trial is told to the study (e.g. to save the best model so far).

    A trial whose objective is not finite (a diverged fit) is recorded as
    failed and the sweep goes on; an exception in `train_trial` fails the
    trial and is raised.

    Returns:
        A `SweepResult`; the parent run carries `best_value` (metric),
        `best.<param>` tags and `best.json`.

    Example:
        >>> import likely, tempfile, os
        >>> from likely.experiment import run_sweep
        >>> def train(trial, callbacks):
        ...     x = trial.suggest_float("x", -2, 2)
        ...     return (x - 1) ** 2
        >>> db = "sqlite:///" + os.path.join(tempfile.mkdtemp(), "s.db")
        >>> result = run_sweep(train, 3, storage=db, tracking=False, sampler_seed=0)
        >>> result.n_trials, result.best_value <= 9
        (3, True)
    """
    from likely.callbacks import MlflowLogger
    from likely.tracking import _hooks, _run, tracking_enabled

    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 0:
        raise ValueError(
            f"Argument `n_trials` must be a non-negative integer. Received: {n_trials!r}"
        )
    optuna = _optuna()
    storage = storage or DEFAULT_STORAGE
    study = load_study(study_name, storage, direction, sampler_seed)
    track = tracking_enabled(tracking)
    info = {"study": study_name, "direction": direction, "monitor": monitor, **(settings or {})}
    parent = None
    numbers: list[int] = []
    status = "FAILED"
    try:
        for _ in range(n_trials):
            trial = study.ask()
            numbers.append(trial.number)
            if track and parent is None:
                parent = _parent_run(study, trial, experiment, info)
            parent_id = parent.run_id if parent is not None else None
            pruner = PruningCallback(trial, monitor)
            with _run.start_run(
                experiment,
                f"trial-{trial.number}",
                parent_run_id=parent_id,
                enabled=track,
                tags={"optuna.study": study_name, "optuna.trial": trial.number},
            ) as run:
                logger = MlflowLogger(log_model=log_models)
                try:
                    callbacks = [pruner, logger] if pruning else [logger]
                    value = float(train_trial(trial, callbacks))
                except optuna.TrialPruned:
                    pruner.pruned = True
                    value = float("nan")
                except Exception:
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                    raise
                run.log_params({f"trial.{k}": v for k, v in trial.params.items()})
                if pruner.pruned:
                    run.set_tags({"optuna.state": "PRUNED"})
                    told = study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                elif not math.isfinite(value):
                    run.set_tags({"optuna.state": "FAIL"})
                    told = study.tell(trial, state=optuna.trial.TrialState.FAIL)
                else:
                    run.set_tags({"optuna.state": "COMPLETE"})
                    run.log_metrics({"objective": value})
                    told = study.tell(trial, value)
            if after_trial is not None:
                after_trial(study, told)
        best_value, best_params = _summarize(parent, study)
        status = "FINISHED"
    except BaseException as exc:
        status = _hooks.status_for(exc)
        raise
    finally:
        if parent is not None:  # shared by the workers: each one ends it when it is done
            parent.end(status)
    return SweepResult(
        study_name=study_name,
        storage=storage,
        best_value=best_value,
        best_params=best_params,
        n_trials=len(study.get_trials(deepcopy=False)),
        trial_numbers=numbers,
        parent_run_id=parent.run_id if parent is not None else None,
    )
