"""An interrupted `likely train` resumes in the same MLflow run, with no gap or duplicate."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import yaml

EPOCHS = 30


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_training_resumes_without_gap(tmp_path, sig):
    import mlflow

    rng = np.random.default_rng(0)
    x = rng.normal(size=(20000, 4))
    y = x[:, 0] + 0.3 * rng.normal(size=20000)
    pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "d": x[:, 3], "y": y}).to_parquet(
        tmp_path / "train.parquet")
    config = {
        "data": {"train": "train.parquet", "features": ["a", "b", "c", "d"], "target": "y"},
        "model": {"hidden": [128, 128], "head": "normal"},  # epochs of ~1 s or more
        "training": {"epochs": EPOCHS, "batch_size": 32, "early_stopping": {"enabled": False}},
        "tracking": {"experiment": "resume"},
    }
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(config))
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, "-m", "likely", "train", "run.yaml", "-o", "out", "--quiet"]
    # A test runner started in the background inherits SIGINT as ignored, and a
    # Python started with SIGINT ignored never raises KeyboardInterrupt: give the
    # child the default disposition, as a terminal would.
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    client = mlflow.MlflowClient(uri)
    run_id, deadline = None, time.time() + 300
    while time.time() < deadline and process.poll() is None:
        time.sleep(0.5)
        try:
            experiment = client.get_experiment_by_name("resume")
            runs = client.search_runs([experiment.experiment_id]) if experiment else []
        except Exception:  # the store is being created
            continue
        if runs and len(client.get_metric_history(runs[0].info.run_id, "loss")) >= 3:
            run_id = runs[0].info.run_id
            break
    assert run_id is not None, process.communicate()[1][-3000:]
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode != 0, f"training ended before the signal arrived: {stderr[-2000:]}"
    assert client.get_run(run_id).info.status == "KILLED"
    logged_before = len(client.get_metric_history(run_id, "loss"))
    assert 3 <= logged_before < EPOCHS
    assert (tmp_path / "out" / "checkpoint").is_dir()

    resumed = subprocess.run([*command, "--resume", run_id], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert client.get_run(run_id).info.status == "FINISHED"
    for metric in ("loss", "val_loss"):
        steps = sorted(m.step for m in client.get_metric_history(run_id, metric))
        assert steps == list(range(EPOCHS)), (metric, steps)
    assert (tmp_path / "out" / "model.keras").is_file()
    assert not (tmp_path / "out" / "checkpoint").exists()
