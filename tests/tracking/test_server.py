"""Team mode against a real `mlflow server`, and nothing lost when the tracker fails."""

from __future__ import annotations

import warnings
from pathlib import Path

import keras
import numpy as np
import pytest
from mlflow import MlflowClient
from tracking_helpers import d2_data, free_port, small_model

import likely
from likely.callbacks import MlflowLogger
from likely.tracking import TrackingWarning, read_fallback

EPOCHS = 6


class _KillServerAt(keras.callbacks.Callback):
    def __init__(self, server, epoch: int) -> None:
        super().__init__()
        self.server, self.epoch = server, epoch

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if epoch == self.epoch:
            self.server.kill()


def _fallback_records(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.exists() else []


def _check_record(record: Path, model: keras.Model, x: np.ndarray, history: dict) -> dict:
    """Every epoch of loss and val_loss, and a model that predicts like the trained one."""
    info = read_fallback(record)
    for key in ("loss", "val_loss"):
        steps = [step for step, _ in info["metrics"][key]]
        assert steps == list(range(EPOCHS)), f"{key}: epochs {steps}"
        np.testing.assert_allclose([v for _, v in info["metrics"][key]], history[key], rtol=1e-6)
    loaded = likely.load_model(record / "artifacts" / "model")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert (record / "artifacts" / "plots" / "loss_curve.png").is_file()
    assert info["status"] == "FINISHED"
    return info


@pytest.mark.slow
def test_team_mode_register_alias_and_load(workdir: Path, mlflow_server, monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.url)
    x, y = d2_data(80)
    model = small_model()
    logger = MlflowLogger(experiment="team", run_name="shared")
    history = model.fit(x, y, epochs=3, validation_split=0.25, verbose=0, callbacks=[logger])
    client = MlflowClient(mlflow_server.url)
    run = client.get_run(logger.run_id)
    assert run.info.status == "FINISHED"
    assert [m.value for m in client.get_metric_history(logger.run_id, "val_loss")] == pytest.approx(
        history.history["val_loss"], rel=1e-6
    )
    assert not (workdir / "mlflow.db").exists()  # nothing went to the embedded store
    version = likely.tracking.register_model(logger.run_id, "d2-mdn", alias="champion")
    assert client.get_model_version_by_alias("d2-mdn", "champion").version == version.version
    loaded = likely.load_model("models:/d2-mdn@champion")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.slow
def test_server_killed_mid_run_keeps_every_epoch(workdir: Path, mlflow_server, monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.url)
    x, y = d2_data(80)
    model = small_model()
    logger = MlflowLogger(experiment="doomed", run_name="survivor")
    with pytest.warns(TrackingWarning) as caught:
        history = model.fit(
            x,
            y,
            epochs=EPOCHS,
            validation_split=0.25,
            verbose=0,
            callbacks=[logger, _KillServerAt(mlflow_server, epoch=2)],
        )
    assert len(history.history["loss"]) == EPOCHS  # training completed
    tracking_warnings = [w for w in caught if issubclass(w.category, TrackingWarning)]
    assert len(tracking_warnings) == 1
    records = _fallback_records(workdir / "fallback")
    assert len(records) == 1
    assert str(records[0]) in str(tracking_warnings[0].message)
    info = _check_record(records[0], model, x, history.history)
    assert info["mlflow_run_id"] == logger.run_id
    assert info["params"]["arch.head"] == "MixtureNormal"


def test_unreachable_tracker_at_start(workdir: Path, monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{free_port()}")
    x, y = d2_data(80)
    model = small_model()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(
            x, y, epochs=EPOCHS, validation_split=0.25, verbose=0, callbacks=[MlflowLogger()]
        )
    tracking_warnings = [w for w in caught if issubclass(w.category, TrackingWarning)]
    assert len(tracking_warnings) == 1, [str(w.message) for w in caught]
    assert "likely.tracking.upload_fallback" in str(tracking_warnings[0].message)
    (record,) = _fallback_records(workdir / "fallback")
    _check_record(record, model, x, history.history)


def test_fallback_record_uploads_when_the_tracker_is_back(workdir: Path, monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{free_port()}")
    x, y = d2_data(60)
    model = small_model()
    with pytest.warns(TrackingWarning):
        history = model.fit(
            x, y, epochs=3, validation_split=0.25, verbose=0, callbacks=[MlflowLogger()]
        )
    (record,) = _fallback_records(workdir / "fallback")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{workdir / 'later.db'}")
    run_id = likely.tracking.upload_fallback(record, experiment="recovered")
    client = MlflowClient()
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["arch.head"] == "MixtureNormal"
    losses = [m.value for m in client.get_metric_history(run_id, "val_loss")]
    np.testing.assert_allclose(losses, history.history["val_loss"], rtol=1e-6)
    loaded = likely.load_model(f"runs:/{run_id}/model")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
