"""init -> train -> evaluate -> predict driven as a user would, and every bad input."""

import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml


def run_cli(*args, cwd, env=None):
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "likely", *args],
        capture_output=True, text=True, cwd=cwd, env=full_env, timeout=600,
    )


def write_tables(folder, n=400, seed=0):
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(2):
        x1, x2 = rng.normal(size=(2, n))
        y = x1 + 0.5 * x2**2 + rng.normal(size=n) * (0.2 + 0.2 * np.abs(x1))
        frames.append(pd.DataFrame({"obj": np.arange(n) + i * n, "x1": x1, "x2": x2, "y": y}))
    frames[0].to_csv(folder / "train.csv", index=False)
    frames[1].to_parquet(folder / "test.parquet", index=False)
    return frames


def small_config(folder, tracking=False, **data):
    config = {
        "data": {"train": "train.csv", "test": "test.parquet", "features": ["x1", "x2"],
                 "target": "y", "id_column": "obj", **data},
        "model": {"hidden": [16], "head": "mixture", "num_components": 2},
        "training": {"epochs": 4, "batch_size": 64},
        "tracking": {"enabled": tracking, "experiment": "cli-test"},
    }
    path = folder / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("main_job")
    write_tables(folder)
    small_config(folder)
    result = run_cli("train", "run.yaml", "-o", "out", "--quiet", cwd=folder)
    assert result.returncode == 0, result.stderr[-3000:]
    return folder, result


def test_init_writes_a_valid_config(tmp_path):
    result = run_cli("init", "my.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    from likely.experiment import load_config

    assert load_config(tmp_path / "my.yaml").data.train == "dc2:train"
    again = run_cli("init", "my.yaml", cwd=tmp_path)
    assert again.returncode == 2 and "exists" in again.stderr


def test_train_writes_model_and_reports(trained):
    folder, result = trained
    assert (folder / "out" / "model.keras").is_file()
    assert "crps" in result.stdout.lower() or "nll" in result.stdout.lower()
    assert not (folder / "out" / "checkpoint").exists()  # removed after a finished run


def test_evaluate_and_predict(trained):
    folder, _ = trained
    result = run_cli("evaluate", "out/model.keras", "test.parquet", cwd=folder)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "nll" in result.stdout
    result = run_cli("predict", "out/model.keras", "test.parquet", "-o", "pred.parquet",
                     "--chunk-rows", "150", "--pdf-grid", "-3:3:7", cwd=folder)
    assert result.returncode == 0, result.stderr[-3000:]
    table = pd.read_parquet(folder / "pred.parquet")
    test = pd.read_parquet(folder / "test.parquet")
    assert len(table) == len(test)
    np.testing.assert_array_equal(table["obj"], test["obj"])
    assert {"mean", "std", "mode", "q0.05", "q0.5", "q0.95", "pdf_0", "pdf_6"} <= set(table)
    assert np.all(table["q0.05"] <= table["q0.5"]) and np.all(table["q0.5"] <= table["q0.95"])
    # Same numbers as the library on the whole table at once.
    import keras

    import likely

    model = keras.saving.load_model(folder / "out" / "model.keras")
    p = likely.predict_distribution(model, test[["x1", "x2"]].to_numpy("float32"))
    np.testing.assert_allclose(table["mean"], p.mean, rtol=1e-5, atol=1e-6)


# TensorFlow's C++ start-up log (when TensorFlow is installed, Keras imports it to
# serialize models, whatever the backend); it is not likely's output.
TF_LOG = re.compile(r"^(WARNING: All log messages before absl|[IWE]\d{4} )")


def bad(result):
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr[-2000:])
    lines = [line for line in result.stderr.strip().splitlines() if not TF_LOG.match(line)]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("setup", "fragments"),
    [
        (lambda f: small_config(f, train="missing.csv"), ["missing.csv", "not found"]),
        (lambda f: small_config(f, train="garbage.parquet")
         and (f / "garbage.parquet").write_bytes(b"\x00garbage"), ["garbage.parquet"]),
        (lambda f: small_config(f, train="train.xlsx")
         and (f / "train.xlsx").write_bytes(b"PK"), ["format", "xlsx"]),
        (lambda f: small_config(f, features=["x1", "x9"]), ["x9"]),
        (lambda f: small_config(f, filters=["x1 > 100"]), ["filter", "x1 > 100"]),
    ],
)
def test_bad_training_inputs(tmp_path, setup, fragments):
    write_tables(tmp_path)
    setup(tmp_path)
    message = bad(run_cli("train", "run.yaml", "-o", "out", "--quiet", cwd=tmp_path))
    for fragment in fragments:
        assert fragment in message
    assert not (tmp_path / "out" / "model.keras").exists()


def test_non_numeric_and_nan_values(tmp_path):
    train, _ = write_tables(tmp_path)
    broken = train.copy()
    broken["x2"] = broken["x2"].astype(object)
    broken.loc[5, "x2"] = "n/a"
    broken.to_csv(tmp_path / "train.csv", index=False)
    small_config(tmp_path)
    assert "x2" in bad(run_cli("train", "run.yaml", "-o", "o", "--quiet", cwd=tmp_path))

    nan = train.copy()
    nan.loc[[3, 7], "y"] = np.nan
    nan.loc[11, "x1"] = np.inf
    nan.to_csv(tmp_path / "train.csv", index=False)
    message = bad(run_cli("train", "run.yaml", "-o", "o", "--quiet", cwd=tmp_path))
    assert "3" in message and "7" in message
    small_config(tmp_path, invalid_values="drop", test=None)
    result = run_cli("train", "run.yaml", "-o", "o", "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]


def test_invalid_config_value(tmp_path):
    write_tables(tmp_path)
    path = small_config(tmp_path)
    config = yaml.safe_load(path.read_text())
    config["model"]["head"] = "gaussian"
    path.write_text(yaml.safe_dump(config))
    message = bad(run_cli("train", "run.yaml", cwd=tmp_path))
    assert "model.head" in message and "gaussian" in message


def test_bad_prediction_inputs(trained, tmp_path):
    folder, _ = trained
    model = str(folder / "out" / "model.keras")
    pd.DataFrame({"obj": [1, 2], "x1": [0.1, 0.2]}).to_csv(tmp_path / "short.csv", index=False)
    message = bad(run_cli("predict", model, "short.csv", "-o", "p.parquet", cwd=tmp_path))
    assert "x2" in message
    assert not (tmp_path / "p.parquet").exists()
    message = bad(run_cli("predict", "runs:/0123456789abcdef/model", "short.csv", "-o", "p.csv",
                          cwd=tmp_path, env={"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/m.db"}))
    assert "runs:/0123456789abcdef/model" in message
    message = bad(run_cli("predict", "nothere.keras", "short.csv", "-o", "p.csv", cwd=tmp_path))
    assert "nothere.keras" in message
    pd.DataFrame({"obj": [1, 2], "x1": [0.1, np.nan], "x2": [0.0, 1.0]}).to_csv(
        tmp_path / "nan.csv", index=False)
    message = bad(run_cli("predict", model, "nan.csv", "-o", "p.parquet", cwd=tmp_path))
    assert "x1" in message
    assert not (tmp_path / "p.parquet").exists()
