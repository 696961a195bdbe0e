"""Chunked prediction of a table to Parquet, CSV or a qp file, with distribution summaries.

`predict_table` runs three stages at once, so that reading and writing hide
behind the model: a thread reads and checks the next chunk while the main
thread predicts the current one, and another thread writes the previous
one. Each queue holds at most one chunk, so memory stays bounded by a few
chunks whatever the table's size.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import keras
import numpy as np
import pandas as pd

from likely.distributions import MixtureNormal
from likely.errors import DataError
from likely.experiment._features import check_inputs, find_feature_pipeline, sampling_options
from likely.experiment._shift import shift_columns
from likely.models import Predictive, predict_distribution

DEFAULT_QUANTILES = (0.05, 0.16, 0.5, 0.84, 0.95)
DEFAULT_CHUNK_ROWS = 100_000
OUTPUT_FORMATS = ("parquet", "csv", "qp")
INVALID_ROWS = ("error", "drop", "flag")
FLAG_COLUMN = "invalid_input"
"""Column (table) or ancillary array (qp) of `invalid_values="flag"`: True where a row
held NaN or infinite inputs and got no prediction."""


def summary_columns(
    predictive: Predictive,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    pdf_grid: np.ndarray | None = None,
    mixture_parameters: bool = False,
) -> dict[str, np.ndarray]:
    """The columns of `summarize` as float64 arrays, in order."""
    columns = predictive.summary(quantiles)
    if pdf_grid is not None:
        table = predictive.pdf_grid(np.asarray(pdf_grid, dtype=float))
        for i in range(table.shape[1]):
            columns[f"pdf_{i}"] = table[:, i]
    if mixture_parameters:
        d = predictive.distribution
        if not isinstance(d, MixtureNormal):
            raise DataError(
                "mixture parameter columns are for normal mixtures; this model predicts "
                f"{type(d).__name__} (use quantile or PDF-grid columns)"
            )
        weights = np.asarray(keras.ops.convert_to_numpy(d.weights))
        loc = np.asarray(keras.ops.convert_to_numpy(d.loc))[..., 0]
        scale = np.asarray(keras.ops.convert_to_numpy(d.scale))[..., 0]
        for k in range(weights.shape[-1]):
            columns[f"weight_{k}"] = weights[:, k]
            columns[f"loc_{k}"] = loc[:, k]
            columns[f"scale_{k}"] = scale[:, k]
    return {k: np.asarray(v, dtype="float64") for k, v in columns.items()}


def summarize(
    predictive: Predictive,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    pdf_grid: np.ndarray | None = None,
    mixture_parameters: bool = False,
) -> pd.DataFrame:
    """Summary columns of a predictive: `Predictive.summary` (+ optional extras).

    Continuous targets: mean, std, mode and quantiles (named `q0.05`, ...; with
    a suffix per target dimension); classifiers: class probabilities and the
    mode. Optional: gridded PDFs `pdf_<i>` (the grid is the caller's) and
    mixture parameters `weight_<k>`, `loc_<k>`, `scale_<k>` (normal mixtures).

    Example:
        >>> import numpy as np, likely
        >>> from likely.experiment import summarize
        >>> p = likely.Predictive(likely.distributions.Normal(np.zeros(2), np.ones(2)))
        >>> list(summarize(p, quantiles=[0.5]).columns)
        ['mean', 'std', 'mode', 'q0.5']
    """
    return pd.DataFrame(summary_columns(predictive, quantiles, pdf_grid, mixture_parameters))


def output_format_of(path: str | Path, output_format: str | None = None) -> str:
    """The output format: `output_format` when given, else read from the suffix.

    A `.hdf5`/`.h5` name without an explicit format is refused rather than
    guessed: HDF5 holds qp ensembles (`output_format="qp"`) or tables.

    Example:
        >>> from likely.experiment._predict import output_format_of
        >>> output_format_of("photoz.parquet"), output_format_of("photoz.hdf5", "qp")
        ('parquet', 'qp')
    """
    from likely import io

    if output_format is not None:
        if output_format not in OUTPUT_FORMATS:
            raise DataError(
                f"Unknown output format {output_format!r}; allowed: {', '.join(OUTPUT_FORMATS)}."
            )
        if output_format == "qp" and not str(path).lower().endswith((".hdf5", ".h5")):
            raise DataError(f"A qp output file is HDF5: name it *.hdf5 or *.h5 (got {path}).")
        if output_format != "qp":
            io.infer_format(path, output_format, write=True)
        return output_format
    if str(path).lower().endswith((".hdf5", ".h5")):
        raise DataError(
            f"Output {path} is HDF5: pass --output-format qp (output_format='qp') for a qp "
            "ensemble file, or name a .parquet or .csv table."
        )
    return io.infer_format(path, None, write=True)


@dataclass
class _Chunk:
    """One chunk of the input, checked: features, ids, rows without a prediction."""

    x: np.ndarray  # (n_valid, D) float32, the rows to predict
    rows: int  # rows of output (valid + flagged)
    invalid: np.ndarray | None  # (rows,) bool under "flag", else None
    ids: np.ndarray | None


_FLAG_HINT = (
    "every row to predict needs them: repair or remove those rows, or give them empty "
    "predictions with --invalid-rows flag"
)
_ROW_HINT = "every row to predict needs them (remove or repair those rows)"


def _features(
    chunk: pd.DataFrame,
    columns: list[str],
    policy: str,
    source: str,
    id_column: str | None,
    hint: str = _FLAG_HINT,
    photometry: dict[str, Any] | None = None,
) -> _Chunk:
    """Checks a chunk and turns it into the model's input, without per-row Python.

    With `photometry` (a `FeaturePipeline`'s), non-detections (NaN or the
    sentinel) are valid values and the rows are judged by `check_inputs`.
    """
    from likely import io

    if photometry is not None:
        return _photometric_chunk(chunk, columns, policy, source, id_column, hint, photometry)
    try:
        x = chunk[columns].to_numpy(dtype="float32")
    except (ValueError, TypeError):
        chunk, _ = io.check_values(chunk, columns, source=source, hint=hint)  # names the column
        x = chunk[columns].to_numpy(dtype="float32")
    invalid = ~np.isfinite(x).all(axis=1)
    ids = chunk[id_column].to_numpy() if id_column else None
    if not invalid.any():
        return _Chunk(x, len(x), np.zeros(len(x), bool) if policy == "flag" else None, ids)
    if policy == "error":
        io.check_values(chunk.loc[invalid], columns, policy="error", source=source, hint=hint)
        raise DataError(  # finite in the file but out of float32's range
            f"Values beyond float32's range (|x| > 3.4e38) in the feature columns of {source}, "
            f"in {int(invalid.sum())} rows; first rows: "
            f"{', '.join(str(i) for i in chunk.index[invalid][:5])}."
        )
    if policy == "drop":
        keep = ~invalid
        return _Chunk(x[keep], int(keep.sum()), None, None if ids is None else ids[keep])
    return _Chunk(x[~invalid], len(x), invalid, ids)


def _photometry(model: keras.Model) -> dict[str, Any] | None:
    features = find_feature_pipeline(model)
    return None if features is None else features.photometry


def _photometric_chunk(
    chunk: pd.DataFrame,
    columns: list[str],
    policy: str,
    source: str,
    id_column: str | None,
    hint: str,
    photometry: dict[str, Any],
) -> _Chunk:
    probe = chunk.reset_index(drop=True)
    kept = check_inputs(probe, columns, photometry, "error" if policy == "error" else "drop",
                        source, hint).frame.index.to_numpy()  # fmt: skip
    valid = np.zeros(len(probe), bool)
    valid[kept] = True
    x = probe[columns].to_numpy(dtype="float32")
    ids = probe[id_column].to_numpy() if id_column else None
    if policy == "drop":
        return _Chunk(x[valid], int(valid.sum()), None, None if ids is None else ids[valid])
    invalid = ~valid
    return _Chunk(x[valid], len(x), invalid if policy == "flag" else None, ids)


def predict_frame(
    model: keras.Model,
    frame: pd.DataFrame | dict[str, Any],
    columns: Sequence[str] | None = None,
    source: str = "the data",
) -> Predictive:
    """The predictive of every row of a table in memory (a DataFrame or a dict of columns).

    The columns default to those of the model's `FeaturePipeline`; a missing
    column, a non-numeric one, NaN or an infinity is a one-line `DataError`.
    The RAIL estimator predicts each chunk RAIL hands it this way.

    Example:
        >>> import numpy as np, keras, likely
        >>> from likely.experiment import FeaturePipeline, predict_frame
        >>> model = likely.models.mlp(1, hidden=(4,), head="normal", seed=0,
        ...                           normalizer=FeaturePipeline(["x"]))
        >>> predict_frame(model, {"x": np.zeros(3)}).mean.shape
        (3,)
    """
    if columns is None:
        features = find_feature_pipeline(model)
        if features is None:
            raise DataError(
                "this model has no FeaturePipeline layer (it was not trained by likely), so "
                "its input columns are unknown: pass `columns`"
            )
        columns = features.input_columns
    columns = list(columns)
    missing = [name for name in columns if name not in frame]
    if missing:
        raise DataError(f"{source} lacks the model's input columns {missing}")
    if not isinstance(frame, pd.DataFrame):
        frame = pd.DataFrame({name: np.asarray(frame[name]) for name in columns})
    chunk = _features(
        frame, columns, "error", source, None, hint=_ROW_HINT, photometry=_photometry(model)
    )
    return predict_distribution(model, chunk.x, **sampling_options(model))


def _scatter(values: np.ndarray, invalid: np.ndarray | None) -> np.ndarray:
    """Rows of the valid objects spread over all rows, NaN where a row was invalid."""
    if invalid is None or not invalid.any():
        return values
    out = np.full((invalid.size, *values.shape[1:]), np.nan, dtype=values.dtype)
    out[~invalid] = values
    return out


class _Prefetch:
    """Runs an iterator in a thread, at most `depth` items ahead; re-raises its errors."""

    _DONE = object()

    def __init__(self, items: Iterator[Any], depth: int = 1) -> None:
        self._items = items
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="likely-read", daemon=True)

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for item in self._items:
                if not self._put((item, None)):
                    return
            self._put((self._DONE, None))
        except BaseException as error:  # noqa: BLE001 - re-raised in the consumer
            self._put((None, error))

    def __enter__(self) -> Iterator[Any]:
        self._thread.start()
        return self._iterate()

    def _iterate(self) -> Iterator[Any]:
        while True:
            item, error = self._queue.get()
            if error is not None:
                raise error
            if item is self._DONE:
                return
            yield item

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


class _Background:
    """Calls `consume(item)` in a thread for each `put` item, at most `depth` waiting."""

    def __init__(self, consume: Callable[[Any], None], depth: int = 1) -> None:
        self._consume = consume
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="likely-write", daemon=True)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self._error is None:
                try:
                    self._consume(item)
                except BaseException as error:  # noqa: BLE001 - re-raised by put / finish
                    self._error = error

    def __enter__(self) -> _Background:
        self._thread.start()
        return self

    def put(self, item: Any) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(item)

    def finish(self) -> None:
        """Waits until every item is consumed; re-raises the first error."""
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._thread.is_alive():
            self._error = self._error or RuntimeError("stopped")  # skip what is still queued
            self._queue.put(None)
            self._thread.join()


def predict_table(
    model: keras.Model,
    input_path: str | Path,
    output_path: str | Path,
    columns: list[str],
    input_format: str | None = None,
    id_column: str | None = None,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    pdf_grid: np.ndarray | None = None,
    mixture_parameters: bool = False,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    invalid_values: str = "error",
    on_chunk: Callable[[int], None] | None = None,
    output_format: str | None = None,
) -> int:
    """Predicts `input_path` chunk by chunk and writes the summaries to `output_path`.

    Memory stays bounded by a few chunks of `chunk_rows` whatever the input
    size: one being read, one predicted, one written, each in its own thread
    (reading and writing release the GIL in pyarrow and h5py). The output
    appears only when every chunk succeeded (written to a temporary file,
    then renamed).

    Outputs:

    - tables (`.parquet`, `.csv`): the id column, then `mean`, `std`,
      `mode`, the quantiles `q<level>`, optional `pdf_<i>` on `pdf_grid`
      and mixture parameters;
    - `output_format="qp"` (`.hdf5`): a qp ensemble file (`qp.read` opens
      it), `mixmod` for normal mixtures or `interp` on `pdf_grid` when it is
      given, with ancillary `zmode`, `zmean` and `id` (the id column).

    Args:
        model: A model whose input is `columns` of the table.
        input_path: The input table (CSV, Parquet, HDF5 or FITS).
        output_path: The output file.
        columns: Feature columns, in the model's order.
        input_format: Input format; None infers it from the suffix.
        id_column: Column copied to the output (qp: ancillary `id`).
        quantiles: Quantile levels of the table's `q<level>` columns.
        pdf_grid: Grid of the `pdf_<i>` columns, or of qp's `interp` output.
        mixture_parameters: Also write the mixture's weights, locs and scales
            (tables only).
        chunk_rows: Rows per chunk.
        invalid_values: Rows whose features hold NaN or infinities:
            "error" (default) stops with a one-line message naming them,
            "flag" keeps them with NaN predictions and True in the
            `invalid_input` column (qp: ancillary array), "drop" leaves them
            out.
        on_chunk: Called with the number of rows of each chunk predicted.
        output_format: "parquet", "csv" or "qp"; None infers it from the
            suffix (an `.hdf5` name needs "qp" said explicitly).

    Returns:
        The number of rows written.
    """
    from likely import io

    if invalid_values not in INVALID_ROWS:
        raise DataError(
            f"Unknown invalid-values policy {invalid_values!r}; allowed: {', '.join(INVALID_ROWS)}."
        )
    output_format = output_format_of(output_path, output_format)
    if output_format == "qp" and mixture_parameters:
        raise DataError(
            "mixture parameters are table columns: a qp file stores the mixture itself "
            "(qp's mixmod); drop --mixture-parameters"
        )
    source = str(input_path)
    read_columns = list(columns) + ([id_column] if id_column and id_column not in columns else [])
    chunks = io.iter_table_chunks(
        input_path, format=input_format, columns=read_columns, chunk_rows=chunk_rows
    )
    photometry = _photometry(model)
    checked = (
        _features(c, columns, invalid_values, source, id_column, photometry=photometry)
        for c in chunks
    )
    grid = None if pdf_grid is None else np.asarray(pdf_grid, dtype=float)

    if output_format == "qp":
        writer: Any = io.QpWriter(output_path)

        def predict(chunk: _Chunk) -> Any:
            return _qp_chunk(model, chunk, grid)

        def write(item: Any) -> None:
            writer.write(*item)

    else:
        writer = io.TableWriter(output_path, format=output_format)

        def predict(chunk: _Chunk) -> Any:
            return _table_chunk(model, chunk, quantiles, grid, mixture_parameters, id_column)

        def write(item: Any) -> None:
            writer.write(item)

    with writer, _Prefetch(checked) as inputs, _Background(write) as sink:
        for chunk in inputs:
            sink.put(predict(chunk))
            if on_chunk is not None:
                on_chunk(chunk.rows)
        sink.finish()
    return writer.rows_written


def _predict_rows(model: keras.Model, chunk: _Chunk) -> tuple[Predictive, Callable]:
    """The predictive of the chunk's valid rows, and the map of its arrays onto all rows.

    When no row is valid, the predictive is that of one placeholder row (for
    the names and shapes of the outputs) and every output row is NaN.
    """
    options = sampling_options(model)
    if len(chunk.x):
        return predict_distribution(model, chunk.x, **options), lambda v: _scatter(
            np.asarray(v), chunk.invalid
        )
    placeholder = predict_distribution(model, np.zeros((1, chunk.x.shape[1]), "float32"), **options)

    def empty(values: Any) -> np.ndarray:
        values = np.asarray(values)
        return np.full((chunk.rows, *values.shape[1:]), np.nan, dtype=values.dtype)

    return placeholder, empty


def _table_chunk(
    model: keras.Model,
    chunk: _Chunk,
    quantiles: Sequence[float],
    grid: np.ndarray | None,
    mixture_parameters: bool,
    id_column: str | None,
) -> dict[str, np.ndarray]:
    predictive, spread = _predict_rows(model, chunk)
    summary = summary_columns(predictive, quantiles, grid, mixture_parameters)
    columns = {id_column: chunk.ids} if id_column else {}
    columns.update({name: spread(values) for name, values in summary.items()})
    x = chunk.x if len(chunk.x) else np.zeros((1, chunk.x.shape[1]), "float32")
    for name, values in shift_columns(model, x).items():  # the covariate-shift score
        columns[name] = spread(values)
    if chunk.invalid is not None:
        columns[FLAG_COLUMN] = chunk.invalid
    return columns


def _qp_chunk(
    model: keras.Model, chunk: _Chunk, grid: np.ndarray | None
) -> tuple[Any, dict[str, np.ndarray]]:
    from likely import io

    predictive, spread = _predict_rows(model, chunk)
    try:
        found = io.qp_parameters(predictive, grid)
    except ValueError as error:  # not a normal mixture and no grid
        raise DataError(f"{error} (--pdf-grid START:STOP:NUM, e.g. 0:3:301)") from None
    data = {name: spread(values) for name, values in found.data.items()}
    ancil = {"zmode": spread(predictive.mode), "zmean": spread(predictive.mean)}
    if chunk.ids is not None:
        ancil["id"] = chunk.ids
    if chunk.invalid is not None:
        ancil[FLAG_COLUMN] = chunk.invalid
    return io.QpParameters(found.name, data, found.meta), ancil
