"""Fixtures of the tracking tests: a temporary working directory, a real MLflow server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tracking_helpers import MlflowServer


@pytest.fixture(autouse=True)
def _quiet_mlflow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh working directory: the embedded store goes to ./mlflow.db there."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LIKELY_TRACKING_FALLBACK_DIR", str(tmp_path / "fallback"))
    return tmp_path


@pytest.fixture
def mlflow_server(tmp_path: Path) -> Iterator[MlflowServer]:
    root = tmp_path / "server"
    root.mkdir()
    server = MlflowServer(root)
    yield server
    server.kill()
