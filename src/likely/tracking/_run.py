"""`TrackedRun`: one run, in MLflow while the tracker answers, in a local fallback record after.

Every call is recorded in memory before it is sent, so when the tracker
fails (unreachable at start, or dying mid-run) the fallback record gets the
whole run so far — every param, tag, metric value and text artifact — and
everything after; one `TrackingWarning` says where it is.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from likely.tracking import _hooks
from likely.tracking._fallback import FallbackRecord
from likely.tracking._store import (
    bounded_http,
    fallback_root,
    mlflow_module,
    tracking_enabled,
    tracking_uri,
)

_MAX_PARAM_LENGTH = 6000
_ACTIVE: list[TrackedRun] = []  # runs of `start_run` blocks, innermost last
_KEY_CHARS = re.compile(r"[^0-9A-Za-z_\-. /]")


def _clean_key(key: str) -> str:
    return _KEY_CHARS.sub("_", str(key))


def _param_value(value: Any) -> str:
    text = str(value)
    return text if len(text) <= _MAX_PARAM_LENGTH else text[: _MAX_PARAM_LENGTH - 3] + "..."


def experiment_id_for(client: Any, experiment: str | None) -> str:
    """The id of experiment `experiment` (created if missing); None: MLflow's current experiment."""
    if experiment is None:
        from mlflow.tracking.fluent import _get_experiment_id

        return str(_get_experiment_id())
    if not isinstance(experiment, str) or not experiment:
        raise ValueError(
            f"Argument `experiment` must be a non-empty string or None. Received: {experiment!r}"
        )
    found = client.get_experiment_by_name(experiment)
    if found is None:
        from mlflow.exceptions import MlflowException

        try:
            # The UI then opens it on its model-training views (runs, metrics, charts).
            tags = {"mlflow.experimentKind": "custom_model_development"}
            return str(client.create_experiment(experiment, tags=tags))
        except MlflowException:  # created meanwhile by another process
            found = client.get_experiment_by_name(experiment)
            if found is None:
                raise
    if found.lifecycle_stage == "deleted":
        client.restore_experiment(found.experiment_id)
    return str(found.experiment_id)


class TrackedRun:
    """A run that cannot lose data: MLflow while the tracker answers, a local record after.

    Made by `likely.tracking.start_run` (or by `MlflowLogger` when no run is
    active); its methods mirror MLflow's. `mode` is `"mlflow"`, `"fallback"`
    (the tracker failed; see `fallback_path`) or `"disabled"` (tracking off:
    every call does nothing).

    Example:
        >>> import likely
        >>> with likely.tracking.start_run(enabled=False) as run:
        ...     run.log_metrics({"loss": 1.0}, step=0)
        >>> run.mode
        'disabled'
    """

    def __init__(
        self,
        *,
        run_name: str | None = None,
        experiment: str | None = None,
        owned: bool = True,
        closed_by_next_fit: bool = False,
        fallback_dir: str | os.PathLike | None = None,
        mode: str = "mlflow",
    ) -> None:
        self.run_id: str | None = None
        self.run_name = run_name
        self.experiment = experiment
        self.owned = owned
        self.closed_by_next_fit = closed_by_next_fit
        self.mode = mode
        self.status: str | None = None if mode == "disabled" else "RUNNING"
        self.tracking_uri: str | None = None
        self._fallback_dir = fallback_dir
        self._fallback: FallbackRecord | None = None
        self._client: Any = None
        self._params: dict[str, str] = {}
        self._tags: dict[str, str] = {}
        self._metrics: list[tuple[str, float, int, int]] = []
        self._texts: dict[str, str] = {}
        self._blobs: dict[str, bytes] = {}

    def __repr__(self) -> str:
        where = self.fallback_path if self.mode == "fallback" else self.run_id
        return f"TrackedRun(mode={self.mode!r}, run={where!s}, status={self.status!r})"

    @property
    def fallback_path(self) -> Path | None:
        """The local record's folder once the tracker has failed, else None."""
        return self._fallback.path if self._fallback is not None else None

    @property
    def ended(self) -> bool:
        return self.status not in ("RUNNING",)

    # -- plumbing ----------------------------------------------------------------
    def _attach(self, client: Any, run_id: str, run_name: str | None) -> None:
        self._client, self.run_id = client, run_id
        self.run_name = run_name or self.run_name
        self.mode = "mlflow"

    def _send(self, action: Any, write: Any, *, recorded: bool = True) -> None:
        """`action(client)` in MLflow mode; `write(record)` in fallback mode.

        `recorded`: the call is kept in memory too, so switching to the fallback
        record replays it (and `write` must not run again).
        """
        if self.mode == "disabled":
            return
        if self.mode == "mlflow":
            try:
                with bounded_http():
                    action(self._client)
                return
            except Exception as exc:  # noqa: BLE001 - any tracker failure: keep the run locally
                self._switch_to_fallback(exc)
                if recorded:
                    return
        write(self._fallback)

    def _switch_to_fallback(self, exc: BaseException) -> None:
        root = fallback_root(self._fallback_dir)
        error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}"
        record = FallbackRecord(
            root,
            self.run_name,
            {
                "tracking_uri": self.tracking_uri,
                "experiment": self.experiment,
                "mlflow_run_id": self.run_id,
                "error": error[:500],
            },
        )
        record.log_params(self._params)
        record.set_tags(self._tags)
        record.log_metrics(self._metrics)
        for name, text in self._texts.items():
            record.log_text(text, name)
        for name, blob in self._blobs.items():
            record.artifact_path(name).write_bytes(blob)
        self._fallback, self.mode = record, "fallback"
        warnings.warn(
            f"MLflow tracking at {self.tracking_uri} failed ({error[:200]}). Training goes on: "
            f"this run's params, metrics, artifacts and model are kept in {record.path} . "
            f"Send them to a tracker later with likely.tracking.upload_fallback('{record.path}').",
            _store_warning(),
            stacklevel=4,
        )

    # -- logging -----------------------------------------------------------------
    def log_params(self, params: dict[str, Any]) -> None:
        """Logs params (values become strings); a key already logged keeps its first value."""
        new = {
            _clean_key(k): _param_value(v)
            for k, v in params.items()
            if _clean_key(k) not in self._params
        }
        if not new:
            return
        self._params.update(new)
        from mlflow.entities import Param

        items = [Param(k, v) for k, v in new.items()]
        self._send(
            lambda c: [
                c.log_batch(self.run_id, params=items[i : i + 100])
                for i in range(0, len(items), 100)
            ],
            lambda r: r.log_params(new),
        )

    def set_tags(self, tags: dict[str, Any]) -> None:
        new = {_clean_key(k): _param_value(v) for k, v in tags.items()}
        self._tags.update(new)
        from mlflow.entities import RunTag

        items = [RunTag(k, v) for k, v in new.items()]
        self._send(lambda c: c.log_batch(self.run_id, tags=items), lambda r: r.set_tags(new))

    def log_metrics(self, metrics: dict[str, Any], step: int = 0) -> None:
        """Logs scalar metrics at `step` (non-finite values are kept as they are)."""
        now = int(time.time() * 1000)
        rows = [(_clean_key(k), float(v), int(step), now) for k, v in metrics.items()]
        if not rows or self.mode == "disabled":
            return
        self._metrics.extend(rows)
        from mlflow.entities import Metric

        items = [Metric(k, v, t, s) for k, v, s, t in rows]
        self._send(lambda c: c.log_batch(self.run_id, metrics=items), lambda r: r.log_metrics(rows))

    def log_text(self, text: str, artifact_file: str) -> None:
        if self.mode == "disabled":
            return
        self._texts[artifact_file] = text
        self._send(
            lambda c: c.log_text(self.run_id, text, artifact_file),
            lambda r: r.log_text(text, artifact_file),
        )

    def log_dict(self, data: dict[str, Any], artifact_file: str) -> None:
        """Logs a dict as JSON, or YAML when `artifact_file` ends in .yaml/.yml."""
        if artifact_file.endswith((".yaml", ".yml")):
            import yaml

            plain = json.loads(json.dumps(data, default=str))
            text = yaml.safe_dump(plain, sort_keys=False)
        else:
            text = json.dumps(data, indent=2, default=str)
        self.log_text(text, artifact_file)

    def log_figure(self, figure: Any, artifact_file: str) -> None:
        """Logs a matplotlib figure as an image (PNG unless the name says otherwise)."""
        if self.mode == "disabled":
            return
        buffer = io.BytesIO()
        fmt = Path(artifact_file).suffix.lstrip(".") or "png"
        figure.savefig(buffer, format=fmt, dpi=110, bbox_inches="tight")
        blob = buffer.getvalue()
        self._blobs[artifact_file] = blob

        def send(client: Any) -> None:
            with _temp_file(blob, artifact_file) as path:
                client.log_artifact(self.run_id, path, _parent(artifact_file))

        self._send(send, lambda r: r.artifact_path(artifact_file).write_bytes(blob))

    def log_artifact(self, local_path: str | os.PathLike, artifact_path: str | None = None) -> None:
        if self.mode == "disabled":
            return
        self._send(
            lambda c: c.log_artifact(self.run_id, str(local_path), artifact_path),
            lambda r: r.log_file(local_path, artifact_path),
            recorded=False,
        )

    def log_model(self, model: Any, **kwargs: Any) -> str | None:
        """Logs a likely Keras model as the MLflow model `model` (a local folder in fallback).

        Keyword arguments go to `likely.tracking` model logging: `feature_names`,
        `quantile_levels`, `input_example`, `registered_model_name`.

        Returns:
            Where the model is: `models:/<model_id>` in MLflow, the folder in fallback.
        """
        from likely.tracking import _model

        if self.mode == "disabled":
            return None
        if self.mode == "mlflow":
            try:
                with bounded_http():
                    info = _model.log_model(self.run_id, model, **kwargs)
                return str(info.model_uri)
            except Exception as exc:  # noqa: BLE001 - keep the model locally
                self._switch_to_fallback(exc)
        kwargs.pop("registered_model_name", None)
        target = self._fallback.artifact_path(_model.MODEL_NAME)
        if target.exists():  # a second fit in the same run: keep the latest model
            shutil.rmtree(target)
        _model.save_model(target, model, **kwargs)
        return str(target)

    def log_model_or_file(self, model: Any, **kwargs: Any) -> str | None:
        """`log_model` for a model with one (batch, d) input; otherwise its `.keras` file.

        A model MLflow cannot serve as a table-in, table-out pyfunc (several
        inputs, images, ...) is kept as the artifact `model/model.keras`.

        Returns:
            Where the model is (as `log_model`), or None when only the file was logged.
        """
        from likely.tracking import _model

        try:
            _model.feature_names_for(model, kwargs.get("feature_names"))
        except ValueError:
            import tempfile

            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, _model.KERAS_FILE)
                model.save(path)
                self.log_artifact(path, "model")
            return None
        return self.log_model(model, **kwargs)

    def end(self, status: str = "FINISHED") -> None:
        """Ends the run with `status` (FINISHED, FAILED or KILLED); a second call does nothing."""
        if status not in ("FINISHED", "FAILED", "KILLED"):
            raise ValueError(
                f"Argument `status` must be FINISHED, FAILED or KILLED. Received: {status!r}"
            )
        if self.ended:
            return
        self.status = status
        _hooks.forget(self)
        if self.owned:
            self._send(
                lambda c: c.set_terminated(self.run_id, status),
                lambda r: r.end(status),
                recorded=False,
            )
        elif self._fallback is not None:
            self._fallback.end(status)


def _store_warning() -> type[Warning]:
    from likely.tracking._store import TrackingWarning

    return TrackingWarning


def _parent(artifact_file: str) -> str | None:
    parent = os.path.dirname(artifact_file)
    return parent or None


@contextlib.contextmanager
def _temp_file(blob: bytes, artifact_file: str) -> Iterator[str]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, os.path.basename(artifact_file))
        with open(path, "wb") as f:
            f.write(blob)
        yield path


def open_run(
    experiment: str | None = None,
    run_name: str | None = None,
    *,
    tags: dict[str, Any] | None = None,
    parent_run_id: str | None = None,
    fallback_dir: str | os.PathLike | None = None,
    closed_by_next_fit: bool = False,
) -> TrackedRun:
    """Creates a run in the current tracking store, or a fallback record if it cannot."""
    mlflow = mlflow_module()
    run = TrackedRun(
        run_name=run_name,
        experiment=experiment,
        owned=True,
        closed_by_next_fit=closed_by_next_fit,
        fallback_dir=fallback_dir,
    )
    run.tracking_uri = tracking_uri()
    all_tags = {"likely.version": _likely_version(), **(tags or {})}
    if parent_run_id:
        all_tags["mlflow.parentRunId"] = parent_run_id
    run._tags.update({_clean_key(k): _param_value(v) for k, v in all_tags.items()})
    try:
        with bounded_http():
            from mlflow.tracking.context.registry import resolve_tags

            client = mlflow.MlflowClient(run.tracking_uri)
            experiment_id = experiment_id_for(client, experiment)
            created = client.create_run(
                experiment_id, run_name=run_name, tags=resolve_tags(run._tags)
            )
        run._attach(client, created.info.run_id, created.info.run_name)
    except Exception as exc:  # noqa: BLE001 - unreachable tracker: keep the run locally
        run._switch_to_fallback(exc)
    _hooks.track(run)
    return run


def resume_run(run_id: str) -> TrackedRun:
    """Reopens an ended run (e.g. KILLED by Ctrl-C) to log more epochs into it."""
    from likely.errors import InputError, first_line

    mlflow = mlflow_module()
    run = TrackedRun(owned=True)
    run.tracking_uri = tracking_uri()
    client = mlflow.MlflowClient(run.tracking_uri)
    try:
        with bounded_http():
            info = client.get_run(run_id).info
            client.update_run(run_id, status="RUNNING")
    except Exception as exc:  # noqa: BLE001 - unknown id or unreachable tracker
        raise InputError(
            f"cannot resume MLflow run {run_id!r} at {run.tracking_uri}: {first_line(exc)}"
        ) from None
    run._attach(client, run_id, info.run_name)
    _hooks.track(run)
    return run


def attach_run(run_id: str) -> TrackedRun:
    """Wraps an existing MLflow run (not ended by likely)."""
    mlflow = mlflow_module()
    run = TrackedRun(owned=False)
    run.tracking_uri = tracking_uri()
    client = mlflow.MlflowClient(run.tracking_uri)
    run._attach(client, run_id, None)
    return run


def active_run() -> TrackedRun | None:
    """The innermost `likely.tracking.start_run` run, or None.

    Example:
        >>> import likely
        >>> likely.tracking.active_run() is None
        True
    """
    return _ACTIVE[-1] if _ACTIVE else None


@contextlib.contextmanager
def start_run(
    experiment: str | None = None,
    run_name: str | None = None,
    *,
    tags: dict[str, Any] | None = None,
    parent_run_id: str | None = None,
    enabled: bool | None = None,
    fallback_dir: str | os.PathLike | None = None,
    run_id: str | None = None,
    tracking_uri: str | None = None,
) -> Iterator[TrackedRun]:
    """Opens a tracked run for the block; ends it FINISHED, FAILED (exception) or KILLED.

    `MlflowLogger` callbacks inside the block log to this run. If the tracker
    is unreachable the run is kept in a local fallback record instead, with
    one `TrackingWarning` naming the folder.

    Args:
        experiment: Experiment name (created if needed); None: MLflow's current one.
        run_name: Run name; MLflow picks one when None.
        tags: Extra run tags.
        parent_run_id: Makes this a nested run under that run.
        enabled: False turns tracking off (a run whose calls do nothing);
            None reads `LIKELY_TRACKING` (on unless `off`).
        fallback_dir: Where records go if the tracker fails (default
            `LIKELY_TRACKING_FALLBACK_DIR` or `./likely-fallback`).
        run_id: Reopen this existing run instead of creating one (resuming
            an interrupted training); its metric history continues.
        tracking_uri: Set MLflow's tracking URI for this process first
            (default: `MLFLOW_TRACKING_URI`, else `./mlflow.db`).

    Yields:
        The `TrackedRun`.

    Example:
        >>> import likely
        >>> with likely.tracking.start_run(enabled=False) as run:
        ...     run.log_params({"epochs": 3})
        >>> run.mode, run.status
        ('disabled', None)
    """
    if not tracking_enabled(enabled):
        run = TrackedRun(owned=False, mode="disabled")
    else:
        if tracking_uri:
            mlflow_module().set_tracking_uri(tracking_uri)
        run = (
            resume_run(run_id)
            if run_id is not None
            else open_run(
                experiment,
                run_name,
                tags=tags,
                parent_run_id=parent_run_id,
                fallback_dir=fallback_dir,
            )
        )
    _ACTIVE.append(run)
    try:
        yield run
    except BaseException as exc:
        if run.mode != "disabled":
            run.end(_hooks.status_for(exc))
        raise
    else:
        if run.mode != "disabled":
            run.end("FINISHED")
    finally:
        _ACTIVE.remove(run)


def _likely_version() -> str:
    import likely

    return likely.__version__
