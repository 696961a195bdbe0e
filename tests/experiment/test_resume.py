"""An interrupted `likely train` resumes in the same MLflow run, with no gap or duplicate.

The interruption is deterministic: the child process sends the signal to
itself at the end of a chosen epoch, after likely's own callbacks (checkpoint,
MLflow) have run for it, so the test holds on a machine of any speed.
"""

import os
import signal
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

EPOCHS = 6
INTERRUPT_AFTER = 3  # epochs completed when the signal arrives

# `likely train` with a Keras callback appended to every `fit`: at the end of
# epoch INTERRUPT_AFTER it signals its own process, as Ctrl-C or a batch
# scheduler's SIGTERM would.
_INTERRUPTING_CLI = """
import os, signal, sys
import likely, keras
from likely.cli import main

class Interrupt(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == int(os.environ["TEST_INTERRUPT_AFTER"]):
            os.kill(os.getpid(), int(os.environ["TEST_SIGNAL"]))

fit = keras.Model.fit
def fit_then_interrupt(self, *args, callbacks=None, **kwargs):
    return fit(self, *args, callbacks=[*(callbacks or []), Interrupt()], **kwargs)
keras.Model.fit = fit_then_interrupt
sys.argv[0] = "likely"
main()
"""


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_training_resumes_without_gap(tmp_path, sig):
    import mlflow

    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 4))
    y = x[:, 0] + 0.3 * rng.normal(size=2000)
    pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "d": x[:, 3], "y": y}).to_parquet(
        tmp_path / "train.parquet"
    )
    config = {
        "data": {"train": "train.parquet", "features": ["a", "b", "c", "d"], "target": "y"},
        "model": {"hidden": [16], "head": "normal", "ensemble_size": 1},
        "training": {"epochs": EPOCHS, "batch_size": 256, "early_stopping": {"enabled": False}},
        "tracking": {"experiment": "resume"},
    }
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(config))
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "TF_CPP_MIN_LOG_LEVEL": "3"}
    arguments = ["train", "run.yaml", "-o", "out", "--quiet"]
    interrupted = subprocess.run(
        [sys.executable, "-c", _INTERRUPTING_CLI, *arguments],
        cwd=tmp_path,
        env={**env, "TEST_INTERRUPT_AFTER": str(INTERRUPT_AFTER), "TEST_SIGNAL": str(int(sig))},
        capture_output=True,
        text=True,
        timeout=600,
        # A test runner started in the background inherits SIGINT as ignored, and a
        # Python started with SIGINT ignored never raises KeyboardInterrupt: give the
        # child the default disposition, as a terminal would.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert interrupted.returncode != 0, interrupted.stderr[-2000:]
    client = mlflow.MlflowClient(uri)
    (run,) = client.search_runs([client.get_experiment_by_name("resume").experiment_id])
    run_id = run.info.run_id
    assert run.info.status == "KILLED"
    assert len(client.get_metric_history(run_id, "loss")) == INTERRUPT_AFTER
    assert (tmp_path / "out" / "checkpoint").is_dir()

    resumed = subprocess.run(
        [sys.executable, "-m", "likely", *arguments, "--resume", run_id],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert client.get_run(run_id).info.status == "FINISHED"
    for metric in ("loss", "val_loss"):
        steps = sorted(m.step for m in client.get_metric_history(run_id, metric))
        assert steps == list(range(EPOCHS)), (metric, steps)
    assert (tmp_path / "out" / "model.keras").is_file()
    assert not (tmp_path / "out" / "checkpoint").exists()
