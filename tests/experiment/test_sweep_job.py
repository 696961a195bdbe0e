"""`likely sweep` trains what `likely train` trains, keeps the best trial, and refuses bad files."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import optuna
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from likely.cli import main
from likely.experiment import (
    find_feature_pipeline,
    held_out_nll,
    input_columns,
    load_config,
    parse_sweep_config,
    sweep_from_config,
    train,
)
from likely.models import output_head

N_ROWS = 240


def write_table(path: Path, n: int = N_ROWS) -> Path:
    """Two inputs, a heteroscedastic target, rows sorted by the target (as catalogues often are)."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(n, 2))
    y = x[:, 0] + 0.5 * np.sin(3 * x[:, 1]) + (0.05 + 0.2 * np.abs(x[:, 0])) * rng.normal(size=n)
    frame = pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1], "y": 100.0 + 10.0 * y})
    frame.sort_values("y").to_csv(path, index=False)
    return path


def sweep_dict(table: Path, storage: str, search: dict | None = None) -> dict:
    return {
        "data": {
            "train": str(table),
            "features": ["x1", "x2"],
            "target": "y",
            "validation_fraction": 0.3,
        },
        "model": {"hidden": [8], "num_components": 2, "ensemble_size": 1},
        "training": {"epochs": 3, "batch_size": 32, "seed": 3},
        "tracking": {"enabled": False},
        "search": search or {"model.num_components": {"type": "categorical", "choices": [2]}},
        "study": {"storage": storage, "sampler_seed": 0},
    }


def _weights(model: keras.Model) -> list[np.ndarray]:
    return [keras.ops.convert_to_numpy(w) for w in model.weights]


def test_a_sweep_and_a_train_of_the_same_config_build_identical_models(tmp_path: Path) -> None:
    table = write_table(tmp_path / "table.csv")
    # One trial whose only choice is the config's own value: the trial IS the config.
    sweep = parse_sweep_config(sweep_dict(table, f"sqlite:///{tmp_path / 's.db'}"))
    result = sweep_from_config(sweep, 1, output_dir=tmp_path / "sweep", tracking=False)
    swept = keras.saving.load_model(result.model_path)
    config = sweep.base_config()
    assert load_config(result.best_config) == config
    trained = train(config, tmp_path / "train", progress=False)

    # Same parameter count.
    assert swept.count_params() == trained.model.count_params()
    # Same preprocessing: the columns, the feature pipeline and the standardization.
    assert (
        find_feature_pipeline(swept).get_config()
        == find_feature_pipeline(trained.model).get_config()
    )
    swept_pre, trained_pre = (
        swept.get_layer("preprocessing"),
        trained.model.get_layer("preprocessing"),
    )
    assert [layer.name for layer in swept_pre.layers] == [
        layer.name for layer in trained_pre.layers
    ]
    standardize = swept_pre.get_layer("standardize")
    frame = pd.read_csv(table)
    x = frame[input_columns(config.data)].to_numpy("float32")
    y = frame["y"].to_numpy("float32")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(standardize.mean).ravel(),
        x[trained.fit.split.fit].mean(axis=0),
        rtol=1e-5,
    )
    for a, b in zip(_weights(swept_pre), _weights(trained_pre), strict=True):
        np.testing.assert_array_equal(a, b)
    # Same validation rows: shuffled (the table is sorted by y), and the sweep's objective is
    # the held-out NLL of the trained model on the train run's early-stopping rows.
    stop = trained.fit.split.stop
    assert len(stop) == 36 and not set(stop) <= set(range(N_ROWS - 72, N_ROWS))
    assert result.best_value == pytest.approx(held_out_nll(trained.fit, x, y), rel=1e-6)
    # And so the same trained network and recalibration.
    for a, b in zip(_weights(swept), _weights(trained.model), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert output_head(swept).recalibration == output_head(trained.model).recalibration


@pytest.mark.slow
def test_the_best_trial_is_saved_and_promoted_by_likely_train(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    table = write_table(tmp_path / "table.csv")
    storage = f"sqlite:///{tmp_path / 's.db'}"
    search = {
        "training.learning_rate": {"type": "float", "low": 1e-3, "high": 3e-2, "log": True},
        "model.hidden": {"type": "categorical", "choices": [[8], [4, 4]]},
    }
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump(sweep_dict(table, storage, search)))
    ran = CliRunner().invoke(main, ["sweep", "sweep.yaml", "-n", "3", "-o", "best"])
    assert ran.exit_code == 0, ran.output
    study = optuna.load_study(study_name="likely-sweep", storage=storage)
    completed = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    best = min(completed, key=lambda t: t.value)
    summary = yaml.safe_load((tmp_path / "best" / "best.json").read_text())
    assert (summary["trial"], summary["value"]) == (best.number, pytest.approx(best.value))
    assert sorted(p.name for p in (tmp_path / "best" / "trials").iterdir()) == [str(best.number)]
    text = (tmp_path / "best" / "best-config.yaml").read_text()
    assert "likely train best/best-config.yaml" in text
    best_config = load_config(tmp_path / "best" / "best-config.yaml")
    assert best_config.training.learning_rate == pytest.approx(
        best.params["training.learning_rate"]
    )
    assert best_config.model.hidden == yaml.safe_load(best.params["model.hidden"])
    assert f"likely train {Path('best') / 'best-config.yaml'}" in ran.output

    promoted = CliRunner().invoke(
        main, ["train", "best/best-config.yaml", "-o", "promoted", "--quiet"]
    )
    assert promoted.exit_code == 0, promoted.output
    saved = keras.saving.load_model(tmp_path / "best" / "model.keras")
    retrained = keras.saving.load_model(tmp_path / "promoted" / "model.keras")
    for a, b in zip(_weights(saved), _weights(retrained), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


_OLD_FORMAT = """
data: {dataset: d2, n: 60, seed: 0}
model: {hidden_units: 4, hidden_layers: 1, components: 1}
training: {epochs: 3, validation_split: 0.25}
sweep:
  space:
    model.components: {type: int, low: 1, high: 2}
"""


def _variant(table: Path, storage: str, **changes) -> str:
    data = sweep_dict(table, storage)
    for path, value in changes.items():
        section, _, field = path.partition("__")
        if field:
            data[section][field] = value
        elif value is None:
            del data[section]
        else:
            data[section] = value
    return yaml.safe_dump(data)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("old", "likely 0.1"),
        ("no_search", "needs a `search` section"),
        ("unknown_path", "search key 'model.units': model has no field 'units'"),
        ("section_path", "search key 'training.early_stopping' names a section"),
        ("out_of_range", "field `model.num_components`: Input should be greater than or equal"),
        ("fractional_int", "field `model.num_components`: Input should be a valid integer"),
        ("seed", "'training.seed' cannot be searched"),
        ("rows", "'data.validation_fraction' cannot be searched"),
        (
            "head_option",
            "head 'mixture' with head_options {'low': 0.0}: Unknown option for the mixture family",
        ),
        ("silent", "'model.num_components': the value 2 becomes 1"),
        ("bad_space", "a log search needs low > 0"),
        ("base_field", "field `training.epochs`: Input should be greater than or equal to 1"),
        ("null_seed", "field `training.seed` must be a number"),
        ("missing_file", "does not exist"),
        ("small_table", "gives none (40 rows"),
    ],
)
def test_sweep_config_errors_are_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str, expected: str
) -> None:
    monkeypatch.chdir(tmp_path)
    table = write_table(tmp_path / "table.csv")
    storage = f"sqlite:///{tmp_path / 's.db'}"
    int_range = {"type": "int", "low": 1, "high": 4}
    files = {
        "old": _OLD_FORMAT,
        "no_search": _variant(table, storage, search=None),
        "unknown_path": _variant(table, storage, search={"model.units": int_range}),
        "section_path": _variant(table, storage, search={"training.early_stopping": int_range}),
        "out_of_range": _variant(
            table, storage, search={"model.num_components": {**int_range, "low": 0}}
        ),
        "fractional_int": _variant(
            table, storage, search={"model.num_components": {"type": "float", "low": 1, "high": 4}}
        ),
        "seed": _variant(table, storage, search={"training.seed": int_range}),
        "rows": _variant(
            table,
            storage,
            search={"data.validation_fraction": {"type": "float", "low": 0.1, "high": 0.3}},
        ),
        "head_option": _variant(
            table,
            storage,
            search={"model.head_options.low": {"type": "float", "low": 0, "high": 1}},
        ),
        "silent": _variant(
            table, storage, model={"head": "normal"}, search={"model.num_components": int_range}
        ),
        "bad_space": _variant(
            table,
            storage,
            search={"training.learning_rate": {"type": "float", "low": 0, "high": 1, "log": True}},
        ),
        "base_field": _variant(table, storage, training__epochs=0),
        "null_seed": _variant(table, storage, training__seed=None),
        "small_table": _variant(
            table, storage, data__train=str(write_table(tmp_path / "s.csv", 40))
        ),
    }
    if case != "missing_file":
        (tmp_path / "sweep.yaml").write_text(files[case])
    result = CliRunner().invoke(main, ["sweep", "sweep.yaml", "-o", "out"])
    assert result.exit_code == 2, (result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert expected in lines[0]
    assert "pydantic" not in lines[0] and "Traceback" not in result.output
    assert result.stdout == ""
    assert not (tmp_path / "out").exists() and not (tmp_path / "s.db").exists()  # nothing ran
