"""Run status: FINISHED, FAILED and KILLED, in this process and for scripts that die."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import keras
import pytest
from mlflow import MlflowClient
from tracking_helpers import d2_data, small_model

import likely
from likely.callbacks import MlflowLogger


class _Explode(keras.callbacks.Callback):
    def __init__(self, error: BaseException, at_epoch: int = 1) -> None:
        super().__init__()
        self.error, self.at_epoch = error, at_epoch

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if epoch == self.at_epoch:
            raise self.error


def _status(run_id: str) -> str:
    return MlflowClient().get_run(run_id).info.status


def test_finished(workdir: Path) -> None:
    x, y = d2_data(40)
    logger = MlflowLogger(log_model=False)
    small_model().fit(x, y, epochs=2, verbose=0, callbacks=[logger])
    assert _status(logger.run_id) == "FINISHED"


@pytest.mark.parametrize(
    ("error", "expected"),
    [(RuntimeError("diverged"), "FAILED"), (KeyboardInterrupt(), "KILLED")],
)
def test_failed_fit_is_closed_when_the_next_fit_starts(workdir: Path, error, expected) -> None:
    """The notebook case: the process lives on after a fit died."""
    x, y = d2_data(40)
    logger = MlflowLogger(log_model=False)
    with pytest.raises(type(error)):
        small_model().fit(x, y, epochs=3, verbose=0, callbacks=[logger, _Explode(error)])
    assert _status(logger.run_id) == "RUNNING"  # Keras did not call on_train_end
    # An interactive shell records the last unhandled exception like this.
    sys.last_value = error
    try:
        second = MlflowLogger(log_model=False)
        small_model().fit(x, y, epochs=1, verbose=0, callbacks=[second])
    finally:
        del sys.last_value
    assert _status(logger.run_id) == expected
    assert _status(second.run_id) == "FINISHED"
    history = MlflowClient().get_metric_history(logger.run_id, "loss")
    assert [m.step for m in history] == [0, 1]  # epochs before the failure are kept


@pytest.mark.parametrize(
    ("error", "expected"),
    [(ValueError("bad"), "FAILED"), (KeyboardInterrupt(), "KILLED")],
)
def test_start_run_block_sets_the_status(workdir: Path, error, expected) -> None:
    with pytest.raises(type(error)):
        with likely.tracking.start_run("status") as run:
            raise error
    assert run.status == expected
    assert _status(run.run_id) == expected


_SCRIPT = """
import os, sys, time
import keras, numpy as np
import likely
from likely.datasets import make_d2

x, y = make_d2(n=40, seed=0)
model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(2),
                          likely.layers.IndependentNormal(1)])
model.compile("adam", likely.losses.nll)
logger = likely.callbacks.MlflowLogger(log_model=False)

class Stop(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch < 1:
            return
        with open("run_id.txt", "w") as f:
            f.write(logger.run_id)
        mode = sys.argv[1]
        if mode == "error":
            raise RuntimeError("loss diverged")
        if mode == "interrupt":
            raise KeyboardInterrupt
        open("waiting", "w").close()
        time.sleep(600)  # killed by SIGTERM meanwhile

model.fit(x, y, epochs=50, verbose=0, callbacks=[logger, Stop()])
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("mode", "expected"), [("error", "FAILED"), ("interrupt", "KILLED"), ("sigterm", "KILLED")]
)
def test_script_whose_bare_fit_dies(workdir: Path, mode: str, expected: str) -> None:
    """A plain script, no context manager: the run's status is checked after the process exits."""
    (workdir / "train.py").write_text(textwrap.dedent(_SCRIPT))
    env = {**os.environ, "KERAS_BACKEND": keras.backend.backend(), "TF_CPP_MIN_LOG_LEVEL": "3"}
    process = subprocess.Popen(
        [sys.executable, "train.py", mode],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    if mode == "sigterm":
        deadline = time.monotonic() + 300
        while not (workdir / "waiting").exists():
            assert process.poll() is None, process.communicate()[1][-2000:]
            assert time.monotonic() < deadline
            time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=300)
    if mode == "sigterm":
        assert process.returncode == -signal.SIGTERM  # dies of the signal, as without likely
    else:
        assert process.returncode != 0
        assert ("loss diverged" in stderr) if mode == "error" else ("KeyboardInterrupt" in stderr)
    run_id = (workdir / "run_id.txt").read_text()
    assert _status(run_id) == expected
    assert [m.step for m in MlflowClient().get_metric_history(run_id, "loss")] == [0, 1]
