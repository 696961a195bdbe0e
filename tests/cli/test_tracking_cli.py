"""`likely register`, `likely sweep` (two workers, one study) and `likely ui` in a real browser."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import optuna
import pandas as pd
import pytest
from click.testing import CliRunner
from mlflow import MlflowClient

import likely
from likely.cli import main
from likely.datasets import make_d2

CHROMIUM = os.environ.get("LIKELY_CHROMIUM", "/usr/bin/chromium")  # as scripts/test
_LIKELY = [sys.executable, "-c", "from likely.cli import main; main()"]


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def _train(experiment: str, run_name: str, log_model: bool) -> tuple[keras.Model, str, np.ndarray]:
    x, y = make_d2(n=60, seed=1)
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((1,)),
            keras.layers.Dense(4, "relu"),
            keras.layers.Dense(2),
            likely.layers.IndependentNormal(1),
        ]
    )
    model.compile("adam", likely.losses.nll)
    logger = likely.callbacks.MlflowLogger(experiment, run_name, log_model=log_model)
    model.fit(x, y, epochs=3, validation_split=0.2, verbose=0, callbacks=[logger])
    return model, logger.run_id, x


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_register_with_alias(store: Path) -> None:
    model, run_id, x = _train("registry", "to-register", log_model=True)
    result = CliRunner().invoke(main, ["register", run_id, "photoz", "--alias", "champion"])
    assert result.exit_code == 0, result.output
    assert "models:/photoz@champion" in result.output
    assert int(MlflowClient().get_model_version_by_alias("photoz", "champion").version) == 1
    loaded = likely.load_model("models:/photoz@champion")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_register_unknown_run_is_a_clear_error(store: Path) -> None:
    result = CliRunner().invoke(main, ["register", "0" * 32, "photoz"])
    assert result.exit_code != 0
    assert "Could not register run" in result.output


def test_ui_refuses_a_remote_store(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:1")
    result = CliRunner().invoke(main, ["ui", "--port", str(_free_port()), "--no-browser"])
    assert result.exit_code == 2
    assert result.output.startswith("error: ") and "open it in a browser" in result.output


def test_ui_on_a_busy_port_is_one_error_line(store: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = subprocess.run(
            [*_LIKELY, "ui", "--port", str(port), "--no-browser"],
            cwd=store,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: port ") and str(port) in line and "--port" in line


def _descendants(pid: int) -> set[int]:
    """Every process below `pid`, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _start_ui(store: Path, port: int) -> tuple[subprocess.Popen, Path]:
    log = store / f"ui-{port}.log"
    ui = subprocess.Popen(
        [*_LIKELY, "ui", "--port", str(port), "--no-browser"],
        cwd=store,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # so that the test can clean up whatever happens
    )
    return ui, log


def _printed_url(ui: subprocess.Popen, log: Path, timeout: float = 240.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in log.read_text().splitlines():
            if line.startswith("MLflow UI: "):
                return line.split()[2]
        assert ui.poll() is None, log.read_text()[-3000:]
        time.sleep(0.5)
    raise TimeoutError(log.read_text()[-3000:])


@pytest.mark.slow
def test_ui_prints_the_training_view_and_sigterm_stops_every_process(store: Path) -> None:
    _, run_id, _ = _train("ui-stop", "stopped-cleanly", log_model=False)
    experiment_id = MlflowClient().get_run(run_id).info.experiment_id
    port = _free_port()
    ui, log = _start_ui(store, port)
    started: set[int] = set()
    try:
        url = _printed_url(ui, log)
        assert url == likely.tracking.ui_url(port, experiment_id)
        assert f"/#/experiments/{experiment_id}/runs?workflowType=machine_learning" in url
        started = _descendants(ui.pid)
        assert len(started) >= 2  # mlflow server and its uvicorn
        ui.send_signal(signal.SIGTERM)
        assert ui.wait(timeout=60) == 0
        assert [pid for pid in started if _running(pid)] == []
        with socket.socket() as probe:  # the port is free again
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(("127.0.0.1", port))
    finally:
        for pid in {ui.pid, *started, *_descendants(ui.pid)}:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)
        ui.wait(timeout=30)


_SWEEP_YAML = """
data: {train: d2.csv, features: [x], target: y, validation_fraction: 0.3}
model: {hidden: [4], num_components: 1, ensemble_size: 1}
training: {epochs: 3, batch_size: 32}
search:
  training.learning_rate: {type: float, low: 0.001, high: 0.03, log: true}
  model.num_components: {type: int, low: 1, high: 2}
study: {name: shared, sampler_seed: 0}
tracking: {experiment: two-workers}
"""


@pytest.mark.slow
def test_two_workers_share_one_study(store: Path) -> None:
    (store / "sweep.yaml").write_text(_SWEEP_YAML)
    x, y = make_d2(n=80, seed=0)
    pd.DataFrame({"x": x[:, 0], "y": y}).to_csv(store / "d2.csv", index=False)
    storage = f"sqlite:///{store / 'study.db'}"
    tracking = f"sqlite:///{store / 'mlflow.db'}"
    MlflowClient(tracking).create_experiment("two-workers")  # the store exists before the race
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": tracking,
        "KERAS_BACKEND": keras.backend.backend(),
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    command = [*_LIKELY, "sweep", "sweep.yaml", "--trials", "2", "--storage", storage]
    workers = [
        subprocess.Popen(
            command, cwd=store, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    for worker in workers:
        out, err = worker.communicate(timeout=600)
        assert worker.returncode == 0, err[-3000:]
        assert "Best held-out NLL" in out
    study = optuna.load_study(study_name="shared", storage=storage)
    assert len(study.trials) == 4
    assert sorted(t.number for t in study.trials) == [0, 1, 2, 3]
    client = MlflowClient(tracking)
    experiment = client.get_experiment_by_name("two-workers")
    runs = client.search_runs([experiment.experiment_id])
    parents = {r.data.tags.get("mlflow.parentRunId") for r in runs} - {None}
    assert len(parents) == 1  # every trial under the one parent run
    (parent_id,) = parents
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent_id]
    assert len(children) == 4 and len(runs) == 5
    assert sorted(int(r.data.tags["optuna.trial"]) for r in children) == [0, 1, 2, 3]
    best = min(
        (t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE),
        key=lambda t: t.value,
    )
    assert client.get_run(parent_id).data.metrics["best_value"] == pytest.approx(best.value)
    # Both workers kept the study's best trial in the shared output folder.
    summary = json.loads((store / "likely-sweeps" / "shared" / "best.json").read_text())
    assert summary["trial"] == best.number
    assert (store / "likely-sweeps" / "shared" / "model.keras").is_file()


def _chromium(url: str, *args: str, budget_ms: int = 25000) -> subprocess.CompletedProcess:
    profile = tempfile.mkdtemp(prefix="likely-chromium-")
    try:
        return subprocess.run(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                f"--virtual-time-budget={budget_ms}",
                *args,
                url,
            ],
            capture_output=True,
            text=True,
            timeout=240,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@pytest.mark.slow
def test_ui_shows_the_run_and_its_metric_in_chromium(store: Path) -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: scripts/test installs Debian's chromium package")
        pytest.skip("needs Debian's chromium (scripts/test installs it with apt-get as root)")
    _, run_id, _ = _train("browser-check", "seen-in-chromium", log_model=False)
    experiment_id = MlflowClient().get_run(run_id).info.experiment_id
    port = _free_port()
    ui, log = _start_ui(store, port)
    try:
        table = _printed_url(ui, log)  # the runs table of the run's experiment
        assert table == likely.tracking.ui_url(port, experiment_id)
        dom = _chromium(table, "--dump-dom").stdout
        assert "seen-in-chromium" in dom  # the run is listed
        assert "Evaluation runs" not in dom  # the GenAI view's navigation is not shown
        page = likely.tracking.ui_url(port, experiment_id, run_id)
        dom = _chromium(page, "--dump-dom").stdout
        assert "seen-in-chromium" in dom  # the run's name
        assert "val_loss" in dom  # its logged metric
        for name, url in (("mlflow-ui-runs.png", table), ("mlflow-ui-run.png", page)):
            screenshot = store / name
            _chromium(url, "--window-size=1400,1800", f"--screenshot={screenshot}")
            assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            if os.environ.get("LIKELY_SCREENSHOT_DIR"):
                shutil.copy(screenshot, Path(os.environ["LIKELY_SCREENSHOT_DIR"]) / name)
    finally:
        ui.send_signal(signal.SIGTERM)
        ui.wait(timeout=60)
