"""Sweeps: Optuna trials as nested MLflow runs under one parent, pruning on val_loss."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from mlflow import MlflowClient
from tracking_helpers import d2_data, small_model

from likely.experiment._sweep import PruningCallback, run_sweep, suggest
from likely.experiment._sweep_config import SweepConfig, sweep_from_config


def _config(**sweep) -> SweepConfig:
    return SweepConfig.model_validate(
        {
            "data": {"dataset": "d2", "n": 60},
            "model": {"hidden_layers": 1, "hidden_units": 4, "components": 1},
            "training": {"epochs": 3, "batch_size": 32},
            "sweep": {
                "space": {
                    "training.learning_rate": {
                        "type": "float",
                        "low": 1e-3,
                        "high": 3e-2,
                        "log": True,
                    },
                    "model.components": {"type": "int", "low": 1, "high": 3},
                },
                "sampler_seed": 0,
                **sweep,
            },
            "tracking": {"experiment": "sweep-test"},
        }
    )


def test_trials_are_nested_runs_and_parent_has_the_best(workdir: Path) -> None:
    storage = f"sqlite:///{workdir / 'study.db'}"
    result = sweep_from_config(_config(study_name="nested"), 3, storage=storage)
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
    assert float(parent.data.tags["best.training.learning_rate"]) == pytest.approx(
        best.params["training.learning_rate"]
    )
    for child in children:
        trial = study.trials[int(child.data.tags["optuna.trial"])]
        assert child.info.status == "FINISHED"
        assert float(child.data.params["trial.training.learning_rate"]) == pytest.approx(
            trial.params["training.learning_rate"]
        )
        # The objective is the best val_loss over the logged epochs.
        history = client.get_metric_history(child.info.run_id, "val_loss")
        assert [m.step for m in history][0] == 0
        if trial.state == optuna.trial.TrialState.COMPLETE:
            assert trial.value == pytest.approx(min(m.value for m in history), rel=1e-6)


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


def test_sweep_config_names_bad_keys() -> None:
    with pytest.raises(ValueError, match="model.units"):
        _config(space={"model.units": {"type": "int", "low": 1, "high": 2}})
