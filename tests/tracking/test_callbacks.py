"""MlflowLogger on the embedded store: params, epochs, artifacts and the model, read back."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import keras
import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient
from scipy import stats
from tracking_helpers import d2_data, small_model

import likely
from likely.callbacks import MlflowLogger

EPOCHS = 4


@pytest.fixture(scope="module")
def trained(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[keras.Model, MlflowLogger, np.ndarray, np.ndarray, dict]]:
    """One training for the whole module (the expensive part), in its own working directory."""
    root = tmp_path_factory.mktemp("callback")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
        for name in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID"):
            patch.delenv(name, raising=False)
        x, y = d2_data()
        model = small_model(components=2, seed=5)
        logger = MlflowLogger(experiment="d2-callback", run_name="mdn-d2")
        history = model.fit(
            x, y, epochs=EPOCHS, batch_size=16, validation_split=0.25, verbose=0, callbacks=[logger]
        )
        yield model, logger, x, y, history.history


@pytest.fixture
def in_store(trained, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Works in the module's store: its working directory."""
    monkeypatch.chdir(Path(trained[1].run.tracking_uri.removeprefix("sqlite:///")).parent)
    return Path.cwd()


def test_embedded_store_is_sqlite_in_working_directory(trained, in_store: Path) -> None:
    _, logger, *_ = trained
    assert logger.run.tracking_uri == f"sqlite:///{in_store / 'mlflow.db'}"
    assert likely.tracking.tracking_uri() == logger.run.tracking_uri
    assert (in_store / "mlflow.db").is_file()
    assert (in_store / "mlruns").is_dir()
    assert MlflowClient().get_run(logger.run_id).info.status == "FINISHED"


def test_params_and_every_epoch_read_back(trained, in_store) -> None:
    model, logger, x, y, history = trained
    client = MlflowClient()
    run = client.get_run(logger.run_id)
    params = run.data.params
    assert run.info.run_name == "mdn-d2"
    assert client.get_experiment(run.info.experiment_id).name == "d2-callback"
    assert params["arch.head"] == "MixtureNormal"
    assert params["arch.head.num_components"] == "2"
    assert params["arch.hidden_units"] == "8"
    assert params["arch.activation"] == "tanh"
    assert params["optimizer"] == "Adam"
    assert float(params["learning_rate"]) == pytest.approx(0.01)
    assert params["batch_size"] == "16"
    assert params["epochs"] == str(EPOCHS)
    assert params["seed"] == "5"
    assert params["keras_backend"] == keras.backend.backend()
    assert params["version.keras"] == keras.__version__
    assert params["loss"] == "nll"
    # validation_split=0.25 of 120 rows: the fingerprint is of the 90 training rows.
    n_train = 90
    assert params["data.n_samples"] == str(n_train)
    digest = hashlib.sha256()
    for name, array in (("x", x[:n_train]), ("y", y[:n_train])):
        array = np.ascontiguousarray(array)
        digest.update(f"{name}{array.shape}{array.dtype.str}".encode())
        digest.update(array.tobytes())
    assert params["data.sha256"] == digest.hexdigest()[:16]
    for key in ("loss", "val_loss"):
        logged = client.get_metric_history(logger.run_id, key)
        assert [m.step for m in logged] == list(range(EPOCHS))
        np.testing.assert_allclose([m.value for m in logged], history[key], rtol=1e-6)


def test_artifacts_read_back(trained, in_store: Path, tmp_path: Path) -> None:
    _, logger, _, _, history = trained
    client = MlflowClient()
    names = {a.path for a in client.list_artifacts(logger.run_id)}
    assert {"config.yaml", "model_summary.txt", "plots", "data"} <= names
    plots = {a.path for a in client.list_artifacts(logger.run_id, "plots")}
    assert plots == {"plots/loss_curve.png", "plots/predictive.png"}
    local = Path(mlflow.artifacts.download_artifacts(run_id=logger.run_id, dst_path=tmp_path))
    png = (local / "plots" / "loss_curve.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    config = yaml.safe_load((local / "config.yaml").read_text())
    np.testing.assert_allclose(config["history"]["val_loss"], history["val_loss"], rtol=1e-6)
    fingerprint = json.loads((local / "data" / "fingerprint.json").read_text())
    assert fingerprint["training"]["x_shape"] == [90, 1]
    assert fingerprint["validation"]["x_shape"] == [30, 1]
    assert "MixtureNormal" in (local / "model_summary.txt").read_text()


def test_logged_model_predicts_like_the_original(trained, in_store) -> None:
    model, logger, x, _, _ = trained
    loaded = likely.load_model(f"runs:/{logger.run_id}/model")
    assert isinstance(loaded.layers[-1], likely.layers.MixtureNormal)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))

    pyfunc = mlflow.pyfunc.load_model(f"runs:/{logger.run_id}/model")
    assert pyfunc.metadata.get_input_schema().input_names() == ["x0"]
    frame = pyfunc.predict(pd.DataFrame({"x0": x[:20, 0]}))
    assert list(frame.columns) == ["mean", "std", "mode", "q5", "q16", "q50", "q84", "q95"]
    assert pyfunc.metadata.get_output_schema().input_names() == list(frame.columns)
    reference = likely.predict_distribution(model, x[:20])
    np.testing.assert_allclose(frame["mean"], reference.mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(frame["std"], reference.stddev, rtol=1e-5, atol=1e-6)
    # Quantiles against SciPy: the mixture CDF at the returned q84 is 0.84.
    d = reference.distribution
    w = np.asarray(d.weights)
    loc, scale = np.asarray(d.loc)[..., 0], np.asarray(d.scale)[..., 0]
    cdf = (w * stats.norm.cdf(frame["q84"].to_numpy()[:, None], loc, scale)).sum(-1)
    np.testing.assert_allclose(cdf, 0.84, atol=1e-4)


@pytest.mark.slow
def test_pyfunc_predicts_in_a_fresh_process(trained, in_store) -> None:
    model, logger, x, _, _ = trained
    script = (
        "import mlflow, pandas as pd, sys\n"
        f"m = mlflow.pyfunc.load_model('runs:/{logger.run_id}/model')\n"
        "out = m.predict(pd.DataFrame({'x0': [-0.5, 0.0, 0.5]}))\n"
        "print(out['mean'].tolist())\n"
    )
    env = {**os.environ, "KERAS_BACKEND": keras.backend.backend()}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    means = json.loads(done.stdout.strip().splitlines()[-1])
    expected = likely.predict_distribution(model, np.array([[-0.5], [0.0], [0.5]], np.float32))
    np.testing.assert_allclose(means, expected.mean, rtol=1e-5, atol=1e-6)


def test_logs_into_the_active_mlflow_run_and_leaves_it_open(workdir: Path) -> None:
    x, y = d2_data(40)
    model = small_model()
    with mlflow.start_run() as outer:
        logger = MlflowLogger(log_model=False)
        model.fit(x, y, epochs=2, verbose=0, callbacks=[logger])
        assert logger.run_id == outer.info.run_id
        assert MlflowClient().get_run(outer.info.run_id).info.status == "RUNNING"
    assert MlflowClient().get_run(outer.info.run_id).info.status == "FINISHED"


def test_logs_into_the_enclosing_likely_run(workdir: Path) -> None:
    x, y = d2_data(40)
    model = small_model()
    with likely.tracking.start_run("enclosing", "outer") as run:
        logger = MlflowLogger(log_model=False)
        model.fit(x, y, epochs=2, verbose=0, callbacks=[logger])
        run.log_metrics({"crps": 0.25})
    assert logger.run_id == run.run_id
    data = MlflowClient().get_run(run.run_id).data
    assert data.metrics["crps"] == 0.25 and "loss" in data.metrics


def test_a_model_mlflow_cannot_serve_is_kept_as_its_keras_file(workdir: Path) -> None:
    inputs = keras.Input((3, 2))  # rank-3 inputs: no table-in, table-out pyfunc
    outputs = likely.layers.IndependentNormal(1)(
        keras.layers.Dense(2)(keras.layers.Flatten()(inputs))
    )
    model = keras.Model(inputs, outputs)
    with likely.tracking.start_run("keras-file", "rank-3") as run:
        assert run.log_model_or_file(model) is None
    names = {a.path for a in MlflowClient().list_artifacts(run.run_id, "model")}
    assert names == {"model/model.keras"}


def test_tracking_off_logs_nothing(workdir: Path) -> None:
    x, y = d2_data(40)
    with likely.tracking.start_run(enabled=False):
        small_model().fit(x, y, epochs=1, verbose=0, callbacks=[MlflowLogger()])
    assert not (workdir / "mlflow.db").exists()


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="quantile_levels"):
        MlflowLogger(quantile_levels=(0.5, 1.5))
    with pytest.raises(ValueError, match="data"):
        MlflowLogger(data=(1, 2, 3))
    with pytest.raises(ValueError, match="status"):
        likely.tracking.TrackedRun(mode="disabled").end("DONE")
