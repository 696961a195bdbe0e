"""init -> train -> evaluate -> predict driven as a user would, and every bad input."""

import contextlib
import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner


def run_cli(*args, cwd, env=None, fresh=False):
    """`likely ARGS` in `cwd`: in this process (click's runner), or `fresh` as a user runs it.

    The in-process run is the same code minus a Python start-up (seconds per call). The
    end-to-end runs and a config error use a fresh process, whose terminal output they
    check; so does the `runs:/` error, as MLflow imported earlier here would log at INFO.
    """
    if fresh:
        full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
        return subprocess.run(
            [sys.executable, "-m", "likely", *args],
            capture_output=True,
            text=True,
            cwd=cwd,
            env=full_env,
            timeout=600,
        )
    from likely.cli import main

    with contextlib.chdir(cwd):
        result = CliRunner().invoke(main, [str(a) for a in args], env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


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
        "data": {
            "train": "train.csv",
            "test": "test.parquet",
            "features": ["x1", "x2"],
            "target": "y",
            "id_column": "obj",
            **data,
        },
        "model": {"hidden": [16], "head": "mixture", "num_components": 2, "ensemble_size": 1},
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
    result = run_cli("train", "run.yaml", "-o", "out", "--quiet", cwd=folder, fresh=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return folder, result


def test_init_writes_a_valid_config(tmp_path):
    result = run_cli("init", "my.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    from likely.experiment import load_config

    assert load_config(tmp_path / "my.yaml").data.train == "dc2:train"
    again = run_cli("init", "my.yaml", cwd=tmp_path)
    assert again.returncode == 2 and "exists" in again.stderr
    dc2 = run_cli("init", "dc2.yaml", "--template", "dc2", cwd=tmp_path)
    assert dc2.returncode == 0, dc2.stderr
    assert (tmp_path / "dc2.yaml").read_text() == (tmp_path / "my.yaml").read_text()


def test_table_template_trains_and_no_run_replaces_another(tmp_path):
    """`likely init --template table` fits any table; each run gets a folder of its own."""
    result = run_cli("init", "--template", "table", "run.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "run.yaml").read_text()
    assert "photometry: null" in text
    from likely.experiment import load_config

    config = load_config(tmp_path / "run.yaml")
    assert config.data.photometry is None and config.data.features == ["x1", "x2"]
    # The template's placeholder columns are a table's: train on one, quickly, untracked.
    write_tables(tmp_path, n=200)
    data = yaml.safe_load(text)
    data["training"]["epochs"] = 2
    data["model"]["ensemble_size"] = 1
    data["tracking"]["enabled"] = False
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(data))
    first = run_cli("train", "run.yaml", "--quiet", cwd=tmp_path, fresh=True)
    assert first.returncode == 0, first.stderr[-3000:]
    second = run_cli("train", "run.yaml", "--quiet", cwd=tmp_path)
    assert second.returncode == 0, second.stderr[-3000:]
    runs = tmp_path / "likely-runs"
    assert sorted(p.name for p in runs.iterdir()) == ["run", "run-2"]
    assert f"wrote {os.path.join('likely-runs', 'run', 'model.keras')}" in first.stdout
    assert f"wrote {os.path.join('likely-runs', 'run-2', 'model.keras')}" in second.stdout
    assert (runs / "run" / "model.keras").is_file() and (runs / "run-2" / "model.keras").is_file()


def test_train_writes_model_and_reports(trained):
    folder, result = trained
    assert (folder / "out" / "model.keras").is_file()
    assert "crps" in result.stdout.lower() or "nll" in result.stdout.lower()
    assert not (folder / "out" / "checkpoint").exists()  # removed after a finished run
    assert (folder / "out" / "shift_score.png").is_file()
    assert "outside_fraction" in result.stdout and "inside_crps" in result.stdout


def test_train_refuses_to_replace_an_earlier_model(trained):
    folder, _ = trained
    model = folder / "out" / "model.keras"
    before = model.stat().st_mtime_ns
    message = bad(run_cli("train", "run.yaml", "-o", "out", "--quiet", cwd=folder))
    assert "out" in message and "model.keras" in message and "--force" in message
    assert model.stat().st_mtime_ns == before


def test_evaluate_and_predict(trained):
    folder, _ = trained
    result = run_cli("evaluate", "out/model.keras", "test.parquet", cwd=folder, fresh=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "nll" in result.stdout
    result = run_cli(
        "predict",
        "out/model.keras",
        "test.parquet",
        "-o",
        "pred.parquet",
        "--chunk-rows",
        "150",
        "--pdf-grid",
        "-3:3:7",
        cwd=folder,
        fresh=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    table = pd.read_parquet(folder / "pred.parquet")
    test = pd.read_parquet(folder / "test.parquet")
    assert len(table) == len(test)
    np.testing.assert_array_equal(table["obj"], test["obj"])
    assert {
        "mean",
        "std",
        "mode",
        "q0.05",
        "q0.5",
        "q0.95",
        "pdf_0",
        "pdf_6",
        "shift_score",
    } <= set(table)
    assert np.all(table["q0.05"] <= table["q0.5"]) and np.all(table["q0.5"] <= table["q0.95"])
    # Same numbers as the library on the whole table at once.
    import keras

    import likely

    model = keras.saving.load_model(folder / "out" / "model.keras")
    p = likely.predict_distribution(model, test[["x1", "x2"]].to_numpy("float32"))
    np.testing.assert_allclose(table["mean"], p.mean, rtol=1e-5, atol=1e-6)
    x = test[["x1", "x2"]].to_numpy("float32")
    np.testing.assert_allclose(table["shift_score"], likely.experiment.shift_score(model, x))


# TensorFlow's C++ start-up log (when TensorFlow is the backend); not likely's output.
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
        (
            lambda f: (
                small_config(f, train="garbage.parquet")
                and (f / "garbage.parquet").write_bytes(b"\x00garbage")
            ),
            ["garbage.parquet"],
        ),
        (
            lambda f: small_config(f, train="train.xlsx") and (f / "train.xlsx").write_bytes(b"PK"),
            ["format", "xlsx"],
        ),
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
    assert "data.invalid_values: drop" in message  # the option train has
    small_config(tmp_path, invalid_values="drop", test=None)
    result = run_cli("train", "run.yaml", "-o", "o", "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]


def test_invalid_config_value(tmp_path):
    write_tables(tmp_path)
    path = small_config(tmp_path)
    config = yaml.safe_load(path.read_text())
    config["model"]["head"] = "gaussian"
    path.write_text(yaml.safe_dump(config))
    message = bad(run_cli("train", "run.yaml", cwd=tmp_path, fresh=True))
    assert "model.head" in message and "gaussian" in message


def test_bad_prediction_inputs(trained, tmp_path):
    folder, _ = trained
    model = str(folder / "out" / "model.keras")
    pd.DataFrame({"obj": [1, 2], "x1": [0.1, 0.2]}).to_csv(tmp_path / "short.csv", index=False)
    message = bad(run_cli("predict", model, "short.csv", "-o", "p.parquet", cwd=tmp_path))
    assert "x2" in message
    assert not (tmp_path / "p.parquet").exists()
    message = bad(
        run_cli(
            "predict",
            "runs:/0123456789abcdef/model",
            "short.csv",
            "-o",
            "p.csv",
            cwd=tmp_path,
            env={"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/m.db"},
            fresh=True,  # MLflow, imported earlier in this process, would log at INFO
        )
    )
    assert "runs:/0123456789abcdef/model" in message
    message = bad(run_cli("predict", "nothere.keras", "short.csv", "-o", "p.csv", cwd=tmp_path))
    assert "nothere.keras" in message
    pd.DataFrame({"obj": [1, 2], "x1": [0.1, np.nan], "x2": [0.0, 1.0]}).to_csv(
        tmp_path / "nan.csv", index=False
    )
    message = bad(run_cli("predict", model, "nan.csv", "-o", "p.parquet", cwd=tmp_path))
    assert "x1" in message
    assert "drop" not in message and "policy" not in message  # predict has no such option
    assert not (tmp_path / "p.parquet").exists()
    message = bad(run_cli("predict", model, "nan.csv", "-o", "p.xlsx", cwd=tmp_path))
    assert "p.xlsx" in message and ".parquet" in message
    assert "--format" not in message and "explicitly" not in message  # --format is the input's


def test_predict_qp_and_flagged_rows(trained, tmp_path):
    qp = pytest.importorskip("qp")
    folder, _ = trained
    model = str(folder / "out" / "model.keras")
    test = pd.read_parquet(folder / "test.parquet")
    result = run_cli(
        "predict",
        model,
        str(folder / "test.parquet"),
        "-o",
        "pz.hdf5",
        "--output-format",
        "qp",
        "--chunk-rows",
        "150",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    ensemble = qp.read(str(tmp_path / "pz.hdf5"))
    assert ensemble.npdf == len(test) and set(ensemble.ancil) == {"id", "zmode", "zmean"}
    np.testing.assert_array_equal(ensemble.ancil["id"], test["obj"])
    # likely evaluate scores the qp file like the model itself.
    direct = run_cli("evaluate", model, str(folder / "test.parquet"), cwd=tmp_path)
    scored = run_cli(
        "evaluate",
        "pz.hdf5",
        str(folder / "test.parquet"),
        "--target",
        "y",
        "--kind",
        "regression",
        "--id-column",
        "obj",
        cwd=tmp_path,
    )
    assert scored.returncode == 0, scored.stderr[-3000:]

    def metric(output, name):
        return float(next(r for r in output.splitlines() if f" {name} " in r).split("│")[2])

    for name in ("crps", "pit_ks", "coverage_68"):
        assert metric(scored.stdout, name) == pytest.approx(metric(direct.stdout, name), rel=1e-3)
    bad = test.copy()
    bad.loc[[2, 9], "x2"] = np.nan
    bad.to_csv(tmp_path / "bad.csv", index=False)
    result = run_cli(
        "predict", model, "bad.csv", "-o", "flagged.csv", "--invalid-rows", "flag", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    flagged = pd.read_csv(tmp_path / "flagged.csv")
    assert flagged["invalid_input"].tolist() == [i in (2, 9) for i in range(len(test))]
    assert flagged.loc[[2, 9], "mean"].isna().all() and flagged["mean"].notna().sum() == 398


def test_bad_qp_options(trained, tmp_path):
    folder, _ = trained
    model = str(folder / "out" / "model.keras")
    data = str(folder / "test.parquet")
    message = bad(run_cli("predict", model, data, "-o", "pz.hdf5", cwd=tmp_path))
    assert "--output-format qp" in message
    message = bad(
        run_cli(
            "predict",
            model,
            data,
            "-o",
            "pz.hdf5",
            "--output-format",
            "qp",
            "--quantiles",
            "0.5",
            cwd=tmp_path,
        )
    )
    assert "--quantiles" in message
    message = bad(
        run_cli(
            "predict",
            model,
            data,
            "-o",
            "pz",
            "--output-format",
            "qp",
            "--engine",
            "dask",
            cwd=tmp_path,
        )
    )
    assert "--engine local" in message
    message = bad(run_cli("evaluate", model, data, "--target", "y", cwd=tmp_path))
    assert "qp files" in message
    assert not list(tmp_path.iterdir())
