"""A tracked, resumable training run, and prediction with a trained model's own columns."""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np

from likely.errors import DataError, InputError
from likely.experiment._checkpoint import AtomicBackupAndRestore
from likely.experiment._config import Config
from likely.experiment._pipeline import find_feature_pipeline, train
from likely.experiment._predict import predict_table

DEFAULT_RUNS_DIR = Path("likely-runs")


@dataclasses.dataclass
class RunResult:
    """What `run_training` produced."""

    run_id: str | None
    report: dict[str, float] | None
    history: dict[str, list[float]]
    files: list[Path]
    output_dir: Path
    model: keras.Model
    predictive: Any = None
    y_test: Any = None


def _run_folder_name(config: Config, run_id: str | None) -> str:
    name = config.tracking.run_name or run_id or "run"
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name)


def new_run_folder(base: str | Path) -> Path:
    """Creates and returns the first free folder among `base`, `base-2`, `base-3`, ...

    Each run gets a folder of its own, so that no run replaces an earlier one's
    model (the folder is created at once, so two runs started together cannot
    pick the same one).

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> root = Path(tempfile.mkdtemp())
        >>> [new_run_folder(root / "run").name for _ in range(3)]
        ['run', 'run-2', 'run-3']
    """
    base = Path(base)
    base.parent.mkdir(parents=True, exist_ok=True)
    for n in itertools.count(1):
        folder = base if n == 1 else base.with_name(f"{base.name}-{n}")
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return folder
    raise AssertionError("unreachable")  # pragma: no cover


def check_output_folder(folder: str | Path, overwrite: bool = False) -> None:
    """Refuses a folder that holds an earlier run's model, unless `overwrite`.

    Raises:
        InputError: `folder` holds `model.keras` and `overwrite` is False.
    """
    if not overwrite and (Path(folder) / "model.keras").exists():
        raise InputError(
            f"{folder} holds an earlier run's model.keras; choose another output folder, or "
            "pass --force (overwrite=True) to replace it"
        )


def run_training(
    config: Config,
    output_dir: str | Path | None = None,
    resume_run: str | None = None,
    progress: bool = True,
    callbacks: list[keras.callbacks.Callback] | None = None,
    overwrite: bool = False,
) -> RunResult:
    """Trains the configured model inside a tracked run, with a resumable checkpoint.

    Every completed epoch is checkpointed (atomically, see `AtomicBackupAndRestore`)
    under `<output_dir>/checkpoint`. An interrupted run (Ctrl-C, SIGTERM, a
    crash) keeps it; `resume_run=RUN_ID` continues from the last completed
    epoch in the same MLflow run, so the metric history has no gap and no
    duplicate. A finished run removes its checkpoint.

    Args:
        config: The validated run config.
        output_dir: Folder of the run; default a new one, `likely-runs/<run name or id>`
            (`-2`, `-3`, ... appended when taken). A folder that holds an earlier
            run's model is refused unless `overwrite` (or when resuming).
        resume_run: Id of an interrupted run to continue.
        progress: Show a progress bar.
        callbacks: Extra Keras callbacks.
    """
    from likely import tracking
    from likely.callbacks import MlflowLogger

    if output_dir is not None and resume_run is None:
        check_output_folder(output_dir, overwrite)  # before a run is opened
    with tracking.start_run(
        config.tracking.experiment,
        config.tracking.run_name,
        enabled=config.tracking.enabled,
        run_id=resume_run,
        tracking_uri=config.tracking.tracking_uri,
    ) as run:
        run_id = getattr(run, "run_id", None) or resume_run
        if output_dir is not None:
            folder = Path(output_dir)
        elif resume_run is not None:
            folder = DEFAULT_RUNS_DIR / _run_folder_name(config, run_id)
        else:
            folder = new_run_folder(DEFAULT_RUNS_DIR / _run_folder_name(config, run_id))
        checkpoint = folder / "checkpoint"
        if resume_run is not None and not checkpoint.is_dir():
            raise InputError(
                f"cannot resume run {resume_run}: no checkpoint in {checkpoint} (pass the same "
                "--output as the interrupted run; a run that finished has none)"
            )
        run_callbacks = [
            AtomicBackupAndRestore(checkpoint),
            *(callbacks or []),
        ]
        if config.tracking.enabled:
            run_callbacks.append(
                MlflowLogger(config=config.model_dump(mode="json"), seed=config.training.seed)
            )
        try:
            result = train(config, folder, callbacks=run_callbacks, progress=progress)
        except BaseException:
            if output_dir is None and folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()  # a new folder that nothing was written to
            raise
        if result.report:
            run.log_metrics({f"test_{k}": v for k, v in result.report.items()})
        plots = [path for path in result.files if path.suffix == ".png"]
        for path in plots:
            run.log_artifact(path, "plots")
        if config.tracking.enabled and (result.report or plots):
            title = f"likely run {config.tracking.run_name or run_id or ''}".strip()
            metrics = {f"test_{k}": v for k, v in (result.report or {}).items()}
            run.log_text(tracking.report_html(title, metrics, plots), "report.html")
    return RunResult(
        run_id=run_id,
        report=result.report,
        history=result.history,
        files=result.files,
        output_dir=folder,
        model=result.model,
        predictive=result.predictive,
        y_test=result.y_test,
    )


def load_trained_model(model: str | Path) -> keras.Model:
    """A model from a `.keras` file, an MLflow model folder or a URI (`runs:/…`, `models:/…`).

    Raises:
        InputError: one line naming the model and what went wrong.
    """
    from likely.errors import first_line

    path = Path(model)
    if path.suffix == ".keras":
        if not path.is_file():
            raise InputError(f"model file {str(model)!r} does not exist")
        try:
            return keras.saving.load_model(path)
        except Exception as error:  # corrupt zip, unknown layer, ...
            raise InputError(f"cannot load model {str(model)!r}: {first_line(error)}") from None
    from likely.tracking import load_model

    try:
        return load_model(str(model))
    except Exception as error:
        raise InputError(
            f"cannot load model {str(model)!r} (a .keras file, an MLflow model folder, "
            f"runs:/<id>/model or models:/<name>@<alias>): {first_line(error)}"
        ) from None


def run_prediction(
    model: keras.Model,
    input_path: str | Path,
    output_path: str | Path,
    id_column: str | None = None,
    quantiles: Sequence[float] = (0.05, 0.16, 0.5, 0.84, 0.95),
    pdf_grid: np.ndarray | None = None,
    mixture_parameters: bool = False,
    chunk_rows: int = 100_000,
    input_format: str | None = None,
    progress: bool = True,
    invalid_values: str = "error",
    output_format: str | None = None,
) -> int:
    """Predicts a table with the columns stored in the model's `FeaturePipeline`.

    See `predict_table` for the outputs, `invalid_values` ("error", "flag",
    "drop") and `output_format` ("parquet", "csv", "qp").
    """
    from likely import io

    features = find_feature_pipeline(model)
    if features is None:
        raise DataError(
            "this model has no FeaturePipeline layer (it was not trained by likely train), "
            "so the input columns are unknown"
        )
    columns = features.input_columns
    id_column = id_column or features.id_column
    total = io.count_rows(input_path, format=input_format)
    bar = _progress_bar(total, f"predicting {Path(input_path).name}") if progress else None
    try:
        return predict_table(
            model,
            input_path,
            output_path,
            columns,
            input_format=input_format,
            id_column=id_column,
            quantiles=quantiles,
            pdf_grid=pdf_grid,
            mixture_parameters=mixture_parameters,
            chunk_rows=chunk_rows,
            invalid_values=invalid_values,
            on_chunk=None if bar is None else bar.advance,
            output_format=output_format,
        )
    finally:
        if bar is not None:
            bar.stop()


class _progress_bar:  # noqa: N801 - used like a function
    def __init__(self, total: int | None, description: str) -> None:
        from rich.console import Console
        from rich.progress import Progress

        console = Console(stderr=True)
        # Only on a terminal: a bar in a log file is noise (and would precede errors).
        self._progress = Progress(console=console, transient=True, disable=not console.is_terminal)
        self._task = self._progress.add_task(description, total=total)
        self._progress.start()

    def advance(self, rows: int) -> None:
        self._progress.update(self._task, advance=rows)

    def stop(self) -> None:
        self._progress.stop()
