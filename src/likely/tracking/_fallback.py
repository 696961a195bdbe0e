"""A run kept on local disk when the tracker fails, and its upload once the tracker is back.

Layout of one record (a folder):

    run.json        run name, experiment, tracking URI, status, params, tags, the error
    metrics.csv     one row per logged value: key, value, step, timestamp (ms)
    artifacts/      files logged after the failure (plots, config, ...)
    artifacts/model an MLflow model folder (loadable with `likely.load_model(path)`)
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

RUN_FILE = "run.json"
METRICS_FILE = "metrics.csv"
ARTIFACTS_DIR = "artifacts"


def _safe_name(name: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_." else "-" for c in name)
    return keep.strip("-.") or "run"


class FallbackRecord:
    """Writes one run's params, metrics, artifacts and model to a local folder, as they come.

    Args:
        root: Folder that holds fallback records (created if needed).
        run_name: Name of the run (part of the folder name).
        info: Facts about the run to keep in `run.json` (tracking URI, experiment, error).
    """

    def __init__(self, root: Path, run_name: str | None, info: dict[str, Any]) -> None:
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        name = f"{stamp}-{_safe_name(run_name or 'run')}-{uuid.uuid4().hex[:8]}"
        self.path = Path(root) / name
        (self.path / ARTIFACTS_DIR).mkdir(parents=True, exist_ok=False)
        self._info: dict[str, Any] = {
            "run_name": run_name,
            "status": "RUNNING",
            "params": {},
            "tags": {},
            **info,
        }
        self._write_info()
        with open(self.path / METRICS_FILE, "w", newline="") as f:
            csv.writer(f).writerow(["key", "value", "step", "timestamp"])

    def _write_info(self) -> None:
        tmp = self.path / (RUN_FILE + ".tmp")
        tmp.write_text(json.dumps(self._info, indent=2, default=str))
        os.replace(tmp, self.path / RUN_FILE)

    def log_params(self, params: dict[str, Any]) -> None:
        self._info["params"].update({k: str(v) for k, v in params.items()})
        self._write_info()

    def set_tags(self, tags: dict[str, Any]) -> None:
        self._info["tags"].update({k: str(v) for k, v in tags.items()})
        self._write_info()

    def set_info(self, **items: Any) -> None:
        self._info.update(items)
        self._write_info()

    def log_metrics(self, rows: list[tuple[str, float, int, int]]) -> None:
        """Appends `(key, value, step, timestamp_ms)` rows and flushes them to disk."""
        with open(self.path / METRICS_FILE, "a", newline="") as f:
            csv.writer(f).writerows(rows)
            f.flush()
            os.fsync(f.fileno())

    def artifact_path(self, artifact_file: str) -> Path:
        target = self.path / ARTIFACTS_DIR / artifact_file
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def log_text(self, text: str, artifact_file: str) -> None:
        self.artifact_path(artifact_file).write_text(text)

    def log_file(self, local_path: str | os.PathLike, artifact_path: str | None = None) -> None:
        name = Path(local_path).name
        target = self.artifact_path(f"{artifact_path}/{name}" if artifact_path else name)
        shutil.copyfile(local_path, target)

    def end(self, status: str) -> None:
        self.set_info(status=status, end_time=_dt.datetime.now().isoformat(timespec="seconds"))


def read_fallback(path: str | os.PathLike) -> dict[str, Any]:
    """Reads a fallback record: its `run.json` plus `metrics` as {key: [(step, value), ...]}.

    Example:
        >>> import tempfile, pathlib
        >>> from likely.tracking import read_fallback
        >>> from likely.tracking._fallback import FallbackRecord
        >>> record = FallbackRecord(pathlib.Path(tempfile.mkdtemp()), "demo", {})
        >>> record.log_metrics([("loss", 1.5, 0, 0), ("loss", 1.2, 1, 0)])
        >>> read_fallback(record.path)["metrics"]["loss"]
        [(0, 1.5), (1, 1.2)]
    """
    folder = Path(path)
    run_file = folder / RUN_FILE
    if not run_file.is_file():
        raise ValueError(
            f"Argument `path` must be a likely fallback record (a folder with {RUN_FILE}). "
            f"Received: {str(path)!r}"
        )
    info = json.loads(run_file.read_text())
    metrics: dict[str, list[tuple[int, float]]] = {}
    with open(folder / METRICS_FILE, newline="") as f:
        for row in csv.DictReader(f):
            metrics.setdefault(row["key"], []).append((int(row["step"]), float(row["value"])))
    info["metrics"] = metrics
    return info


def upload_fallback(path: str | os.PathLike, experiment: str | None = None) -> str:
    """Sends a fallback record to the current tracking store as a new run.

    Params, tags, every metric value, the artifacts and the model are logged;
    the run ends with the status the record had (a record left RUNNING ends
    FAILED). The record itself is left in place.

    Args:
        path: The record's folder (the warning that created it names it).
        experiment: Experiment name; defaults to the one the record was meant for.

    Returns:
        The new run's id.

    Example:
        >>> import likely
        >>> callable(likely.tracking.upload_fallback)
        True
    """
    from likely.tracking._model import log_saved_model
    from likely.tracking._store import bounded_http, mlflow_module

    record = read_fallback(path)
    folder = Path(path)
    mlflow = mlflow_module()
    from mlflow.entities import Metric, Param, RunTag

    from likely.tracking._run import experiment_id_for

    client = mlflow.MlflowClient()
    with bounded_http():
        experiment_id = experiment_id_for(client, experiment or record.get("experiment"))
        tags = {**record["tags"], "likely.fallback_record": str(folder.resolve())}
        run = client.create_run(experiment_id, run_name=record.get("run_name"), tags=tags)
        run_id = run.info.run_id
        params = [Param(k, v) for k, v in record["params"].items()]
        metrics = [
            Metric(key, value, 0, step)
            for key, values in record["metrics"].items()
            for step, value in values
        ]
        for i in range(0, max(len(params), 1), 100):
            client.log_batch(run_id, params=params[i : i + 100])
        for i in range(0, len(metrics), 1000):
            client.log_batch(run_id, metrics=metrics[i : i + 1000])
        client.log_batch(run_id, tags=[RunTag("likely.uploaded_from", "fallback")])
        artifacts = folder / ARTIFACTS_DIR
        for item in sorted(artifacts.iterdir()):
            if item.name == "model":
                log_saved_model(run_id, item)
            elif item.is_dir():
                client.log_artifacts(run_id, str(item), item.name)
            else:
                client.log_artifact(run_id, str(item))
        status = record.get("status", "FAILED")
        client.set_terminated(run_id, "FAILED" if status == "RUNNING" else status)
    return run_id
