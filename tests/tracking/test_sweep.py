"""Sweeps: Optuna trials as nested MLflow runs under one parent, pruning on val_loss."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pandas as pd
import pytest
from mlflow import MlflowClient
from tracking_helpers import d2_data, small_model

from likely.experiment import SweepConfig, parse_sweep_config, sweep_from_config
from likely.experiment._sweep import PruningCallback, run_sweep, suggest


def _config(workdir: Path, **study) -> SweepConfig:
    x, y = d2_data(80)
    pd.DataFrame({"x": x[:, 0], "y": y}).to_csv(workdir / "d2.csv", index=False)
    return parse_sweep_config(
        {
            "data": {"train": str(workdir / "d2.csv"), "features": ["x"], "target": "y"},
            "model": {"hidden": [4], "num_components": 1, "ensemble_size": 1},
            "training": {"epochs": 3, "batch_size": 32},
            "search": {
                "training.learning_rate": {"type": "float", "low": 1e-3, "high": 3e-2, "log": True},
                "model.num_components": {"type": "int", "low": 1, "high": 3},
            },
            "study": {"sampler_seed": 0, **study},
            "tracking": {"experiment": "sweep-test"},
        }
    )


def test_trials_are_nested_runs_and_parent_has_the_best(workdir: Path) -> None:
    storage = f"sqlite:///{workdir / 'study.db'}"
    result = sweep_from_config(_config(workdir, name="nested"), 3, storage=storage)
    study = optuna.load_study(study_name="nested", storage=storage)
    assert len(study.trials) == result.n_trials == 3
    client = MlflowClient()
    experiment = client.get_experiment_by_name("sweep-test")
    runs = client.search_runs([experiment.experiment_id])
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == result.parent_run_id]
    assert len(runs) == 4 and len(children) == 3
    parent = client.get_run(result.parent_run_id)
    assert parent.info.status == "FINISHED"
    completed = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    best = min(completed, key=lambda t: t.value)
    assert parent.data.metrics["best_value"] == pytest.approx(best.value)
    assert result.best_value == pytest.approx(best.value)
    assert result.best_trial == best.number
    assert float(parent.data.tags["best.training.learning_rate"]) == pytest.approx(
        best.params["training.learning_rate"]
    )
    for child in children:
        trial = study.trials[int(child.data.tags["optuna.trial"])]
        assert child.info.status == "FINISHED"
        assert float(child.data.params["trial.training.learning_rate"]) == pytest.approx(
            trial.params["training.learning_rate"]
        )
        # The trial's own config is logged, as likely train logs its config.
        components = trial.params["model.num_components"]
        assert f"'num_components': {components}," in child.data.params["config.model"]
        history = client.get_metric_history(child.info.run_id, "val_loss")
        assert [m.step for m in history][0] == 0
        if trial.state == optuna.trial.TrialState.COMPLETE:
            assert child.data.metrics["objective"] == pytest.approx(trial.value)


def test_pruning_callback_stops_training_cleanly(workdir: Path) -> None:
    study = optuna.create_study(pruner=optuna.pruners.ThresholdPruner(upper=-1e9))
    trial = study.ask()
    pruning = PruningCallback(trial)
    x, y = d2_data(40)
    history = small_model().fit(
        x, y, epochs=5, validation_split=0.25, verbose=0, callbacks=[pruning]
    )
    assert pruning.pruned
    assert len(history.history["loss"]) == 1  # stopped after the first report
    assert trial.storage.get_trial(trial._trial_id).intermediate_values == {
        0: pytest.approx(history.history["val_loss"][0])
    }


def test_pruning_callback_names_a_missing_metric(workdir: Path) -> None:
    trial = optuna.create_study().ask()
    x, y = d2_data(40)
    with pytest.raises(ValueError, match="val_loss"):
        small_model().fit(x, y, epochs=1, verbose=0, callbacks=[PruningCallback(trial)])


def test_pruned_trials_are_recorded(workdir: Path) -> None:
    storage = f"sqlite:///{workdir / 'prune.db'}"

    def train(trial, callbacks):
        raise optuna.TrialPruned()

    result = run_sweep(train, 2, storage=storage, study_name="p", tracking=False)
    states = {t.state for t in optuna.load_study(study_name="p", storage=storage).trials}
    assert states == {optuna.trial.TrialState.PRUNED}
    assert result.best_value is None


def test_suggest_rejects_unknown_types() -> None:
    trial = optuna.create_study().ask()
    with pytest.raises(ValueError, match="type"):
        suggest(trial, {"x": {"type": "complex"}})


def test_suggest_stores_list_choices_as_json_and_returns_the_list() -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    params = suggest(trial, {"model.hidden": {"type": "categorical", "choices": [[8], [4, 4]]}})
    assert params["model.hidden"] in ([8], [4, 4])
    assert trial.params["model.hidden"] == json.dumps(params["model.hidden"])


def test_a_diverged_trial_is_recorded_as_failed_and_the_sweep_goes_on(workdir: Path) -> None:
    storage = f"sqlite:///{workdir / 'nan.db'}"
    values = iter([float("nan"), 2.0])
    seen = []
    result = run_sweep(
        lambda trial, callbacks: next(values),
        2,
        storage=storage,
        study_name="n",
        tracking=False,
        after_trial=lambda study, trial: seen.append(trial.state),
    )
    assert seen == [optuna.trial.TrialState.FAIL, optuna.trial.TrialState.COMPLETE]
    assert result.best_value == 2.0
