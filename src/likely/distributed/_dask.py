"""Catalog prediction on a Dask cluster: one task and one output file per input partition."""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import os
import threading
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from likely.distributed._local import local_client
from likely.errors import DataError, InputError, first_line

DEFAULT_QUANTILES = (0.05, 0.16, 0.5, 0.84, 0.95)
DEFAULT_CHUNK_ROWS = 100_000
_INSTALL_HINT = 'Dask is needed for distributed prediction: pip install "likely[dask]"'


@dataclasses.dataclass
class CatalogResult:
    """What `predict_catalog` did.

    Attributes:
        outputs: The output file of every input partition, in input order.
        rows_written: Rows predicted by this call (skipped partitions excluded).
        predicted: Output files written by this call.
        skipped: Output files that were already complete and were kept (resume).
    """

    outputs: list[Path]
    rows_written: int
    predicted: list[Path]
    skipped: list[Path]


def predict_catalog(
    model: str | os.PathLike,
    inputs: str | os.PathLike | Sequence[str | os.PathLike],
    output_dir: str | os.PathLike,
    *,
    scheduler: Any = None,
    workers: int | None = None,
    id_column: str | None = None,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    pdf_grid: np.ndarray | None = None,
    mixture_parameters: bool = False,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    input_format: str | None = None,
    resume: bool = True,
    on_partition: Callable[[Path, int], None] | None = None,
) -> CatalogResult:
    """Predicts every partition of a catalog on a Dask cluster, one output file per input file.

    Each input file (a Parquet partition, or any table `likely.io` reads) is
    one Dask task. The task runs the single-machine path (`likely predict`,
    chunk by chunk, so memory stays bounded by `chunk_rows`) and writes
    `<output_dir>/<input stem>.parquet` through a temporary file renamed when
    complete: a crash never leaves a file that looks finished. Every worker
    loads the model once and keeps it for all its tasks. A task lost with a
    dead worker is rerun by Dask on another worker.

    With `resume=True` (the default) a rerun keeps the partitions whose
    output exists and has as many rows as the input, and redoes the others
    (leftover temporary files of an interrupted run are removed).

    Args:
        model: A `.keras` file or an MLflow model URI, readable from every
            worker. Its `FeaturePipeline` gives the input columns.
        inputs: A glob (`"catalog/*.parquet"`), a file, or a list of files.
        output_dir: Folder of the output partitions (created if needed).
        scheduler: None starts a local cluster of `workers` processes for this
            call (`local_client`: one thread each, each pinned to its own core); a
            scheduler address (`"tcp://host:8786"`) connects to a running
            cluster; a `distributed.Client` is used as is.
        workers: Number of local worker processes (only with `scheduler=None`);
            None: one per available core.
        id_column: Column copied to the output [default: the model's].
        quantiles: Quantile levels written as `q<level>` columns.
        pdf_grid: Also write the PDF on this grid (`pdf_<i>` columns).
        mixture_parameters: Also write the mixture weights, locs and scales.
        chunk_rows: Rows per prediction chunk inside a task.
        input_format: Format of the inputs; None infers it from the suffix.
        resume: Keep complete outputs of an earlier run.
        on_partition: Called in the caller's process as `on_partition(path,
            rows)` when a partition is written.

    Returns:
        A `CatalogResult`.

    Raises:
        InputError: No input matches, two inputs share a name, the model
            cannot be loaded or has no `FeaturePipeline`.
        ImportError: Dask is not installed.

    Example:
        >>> import tempfile, pathlib
        >>> import numpy as np, pandas as pd, keras
        >>> from likely.experiment import FeaturePipeline
        >>> from likely.models import mlp
        >>> from likely.distributed import predict_catalog
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> for i in range(2):
        ...     pd.DataFrame({"x": np.linspace(0, 1, 5) + i}).to_parquet(folder / f"p{i}.parquet")
        >>> net = mlp(1, hidden=(4,), head="mixture", num_components=2,
        ...           normalizer=FeaturePipeline(["x"]), seed=0)
        >>> net.save(folder / "model.keras")
        >>> result = predict_catalog(  # a local cluster of one worker process
        ...     folder / "model.keras", str(folder / "p*.parquet"), folder / "out", workers=1
        ... )
        >>> [p.name for p in result.outputs], result.rows_written
        (['p0.parquet', 'p1.parquet'], 10)
    """
    distributed = _import_distributed()
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise ValueError(f"Argument `workers` must be a positive integer. Received: {workers!r}")
    if chunk_rows < 1:
        raise ValueError(f"Argument `chunk_rows` must be >= 1. Received: {chunk_rows!r}")
    files = _expand_inputs(inputs)
    output_dir = Path(output_dir)
    outputs = [output_dir / f"{_stem(f)}.parquet" for f in files]
    names = [p.name for p in outputs]
    if len(set(names)) != len(names):
        duplicate = next(n for n in names if names.count(n) > 1)
        raise InputError(
            f"two inputs would both write {duplicate!r}: input file names (without suffix) "
            "must be unique"
        )
    model = str(Path(model).resolve()) if Path(model).is_file() else str(model)
    stamp = _model_stamp(model)
    columns, id_column = _model_columns(model, id_column)
    output_dir.mkdir(parents=True, exist_ok=True)

    todo, skipped = [], []
    for source, target in zip(files, outputs, strict=True):
        if resume and _is_complete(target, source, input_format):
            skipped.append(target)
        else:
            _remove_partials(target)
            todo.append((source, target))

    options = dict(
        columns=columns,
        id_column=id_column,
        quantiles=tuple(float(q) for q in quantiles),
        pdf_grid=None if pdf_grid is None else np.asarray(pdf_grid, dtype=float),
        mixture_parameters=bool(mixture_parameters),
        chunk_rows=int(chunk_rows),
        input_format=input_format,
    )
    rows = 0
    predicted: list[Path] = []
    if todo:
        run = uuid.uuid4().hex
        with _client(distributed, scheduler, workers) as client:
            futures = {
                client.submit(
                    _predict_partition,
                    model,
                    str(source.resolve()),
                    str(target.resolve()),
                    options,
                    stamp,
                    key=f"likely-predict-{target.name}-{run}",
                    pure=False,
                ): target
                for source, target in todo
            }
            for future in distributed.as_completed(futures):
                written = future.result()
                target = futures[future]
                rows += written
                predicted.append(target)
                if on_partition is not None:
                    on_partition(target, written)
    for target in outputs:  # a task lost with a killed worker may have left one
        _remove_partials(target)
    order = {p: i for i, p in enumerate(outputs)}
    return CatalogResult(
        outputs=outputs,
        rows_written=rows,
        predicted=sorted(predicted, key=order.__getitem__),
        skipped=skipped,
    )


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as error:
        raise ImportError(_INSTALL_HINT) from error
    return distributed


def _expand_inputs(inputs: Any) -> list[Path]:
    if isinstance(inputs, (str, os.PathLike)):
        text = str(inputs)
        if glob.has_magic(text):
            files = [Path(p) for p in sorted(glob.glob(text))]
            if not files:
                raise InputError(f"no input file matches {text!r}")
            return files
        inputs = [inputs]
    if not isinstance(inputs, Sequence) or not inputs:
        raise TypeError(
            "Argument `inputs` must be a glob, a file or a non-empty list of files. "
            f"Received: {inputs!r}"
        )
    files = [Path(p) for p in inputs]
    missing = [str(p) for p in files if not p.is_file()]
    if missing:
        raise InputError(f"input file {missing[0]!r} does not exist")
    return files


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".csv.gz", ".parquet", ".pq", ".csv", ".h5", ".hdf5", ".fits", ".fit"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def _model_columns(model: str, id_column: str | None) -> tuple[list[str], str | None]:
    from likely.experiment import find_feature_pipeline

    features = find_feature_pipeline(_load_model(model))
    if features is None:
        raise DataError(
            f"model {model!r} has no FeaturePipeline layer (it was not trained by likely train), "
            "so the input columns are unknown"
        )
    return list(features.input_columns), id_column or features.id_column


def _load_model(model: str) -> Any:
    """A `.keras` file or an MLflow model folder or URI, as a Keras model."""
    import likely  # noqa: F401 - registers likely's layers before loading
    from likely.experiment import load_trained_model

    return load_trained_model(model)


# One model per worker process, kept across tasks; a file's modification time and
# size are part of the key, so a model saved again under the same name is reloaded.
_worker_models: dict[tuple[str, Any], Any] = {}
_model_loads: dict[str, int] = {}
_worker_lock = threading.Lock()


def _worker_model(model: str, stamp: Any = None) -> Any:
    with _worker_lock:
        key = (model, stamp)
        if key not in _worker_models:
            _worker_models.clear()  # one model at a time per worker
            _model_loads[model] = _model_loads.get(model, 0) + 1
            _worker_models[key] = _load_model(model)
        return _worker_models[key]


def _model_load_counts() -> dict[str, int]:
    """How many times this process loaded each model (1 when the cache works)."""
    return dict(_model_loads)


def _model_stamp(model: str) -> Any:
    path = Path(model)
    if not path.is_file():
        return None
    status = path.stat()
    return (status.st_mtime_ns, status.st_size)


def _predict_partition(
    model: str, source: str, target: str, options: dict[str, Any], stamp: Any = None
) -> int:
    """Runs on a worker: predicts one input file into one output file, atomically."""
    from likely.experiment import predict_table

    return predict_table(_worker_model(model, stamp), source, target, **options)


def _partials(target: Path) -> list[Path]:
    return sorted(target.parent.glob(f".{glob.escape(target.name)}.partial-*"))


def _remove_partials(target: Path) -> None:
    for path in _partials(target):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _is_complete(target: Path, source: Path, input_format: str | None) -> bool:
    """An output counts as done when it exists and holds one row per input row."""
    if not target.is_file():
        return False
    import pyarrow.parquet as pq

    from likely import io

    try:
        return pq.ParquetFile(target).metadata.num_rows == io.count_rows(
            source, format=input_format
        )
    except Exception:  # unreadable: redo it
        return False


@contextlib.contextmanager
def _client(distributed: Any, scheduler: Any, workers: int | None) -> Any:
    if scheduler is not None:
        if workers is not None:
            raise ValueError(
                "Argument `workers` applies only to a local cluster (scheduler=None). "
                f"Received: workers={workers!r} with scheduler={scheduler!r}"
            )
        if isinstance(scheduler, distributed.Client):
            yield scheduler
            return
        try:
            client = distributed.Client(str(scheduler), timeout="30s")
        except OSError as error:
            raise InputError(
                f"cannot connect to the Dask scheduler {scheduler!r}: {first_line(error)}"
            ) from None
        with client:
            yield client
        return
    with local_client(workers) as client:
        yield client
