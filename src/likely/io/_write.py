"""Writing tables chunk by chunk, atomically: a file appears whole or not at all."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pandas as pd

from likely.errors import DataError
from likely.io._formats import infer_format, one_line


class TableWriter:
    """Writes a Parquet or CSV table chunk by chunk; the file appears only when complete.

    Chunks go to a hidden temporary file beside the output
    (`.<name>.partial-<pid>`), renamed onto `path` in one step when the `with`
    block ends without an exception. If it raises (or is interrupted with
    Ctrl-C) the temporary file is removed and `path` is left as it was: no
    half-written output. Parent directories are created.

    The first chunk fixes the columns; later chunks must have the same ones
    (they are put in the first chunk's order and, for Parquet, cast to its
    types). Write an empty DataFrame to produce a file with columns and no rows.
    A chunk is a DataFrame or a mapping of column names to 1-D NumPy arrays,
    which Parquet takes without copying. Parquet columns of floats are not
    dictionary-encoded (their values rarely repeat; encoding them made
    writing five times slower).

    Args:
        path: The output file.
        format: "parquet" or "csv"; None infers it from the suffix (.parquet,
            .pq, .csv, .csv.gz).

    Raises:
        DataError: The format is unknown or cannot be written, `path` is a
            directory, or the file cannot be created.

    Example:
        >>> import pathlib, tempfile
        >>> import pandas as pd
        >>> from likely.io import TableWriter, read_table
        >>> folder = tempfile.TemporaryDirectory()
        >>> out = pathlib.Path(folder.name) / "sub" / "predictions.parquet"
        >>> with TableWriter(out) as writer:
        ...     writer.write(pd.DataFrame({"id": [1, 2], "mean": [0.5, 0.7]}))
        ...     writer.write(pd.DataFrame({"id": [3], "mean": [0.9]}))
        >>> read_table(out)["id"].tolist(), writer.rows_written
        ([1, 2, 3], 3)
        >>> folder.cleanup()
    """

    def __init__(self, path: str | os.PathLike, format: str | None = None) -> None:
        self.path = Path(path)
        self.format = infer_format(path, format, write=True)
        self.rows_written = 0
        self._temporary: Path | None = None
        self._columns: list[str] | None = None
        self._handle: Any = None
        self._schema: Any = None

    def __enter__(self) -> TableWriter:
        if self._temporary is not None:
            raise RuntimeError(f"TableWriter for {self.path} is already open.")
        if self.path.is_dir():
            raise DataError(f"Output path {self.path} is a directory; give a file name.")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DataError(
                f"Cannot create the output directory {self.path.parent}: {one_line(error)}"
            ) from error
        self._temporary = self.path.with_name(f".{self.path.name}.partial-{os.getpid()}")
        self.rows_written = 0
        self._columns = None
        return self

    def write(self, frame: pd.DataFrame | Mapping[str, np.ndarray]) -> None:
        """Appends the rows of `frame` (its index is not written).

        Args:
            frame: A chunk with the same columns as the first one: a DataFrame
                or a mapping of names to 1-D arrays of equal length.

        Raises:
            RuntimeError: The writer is not open (use it in a `with` block).
            ValueError: The columns differ from the first chunk's.
            DataError: The file cannot be written.
        """
        if self._temporary is None:
            raise RuntimeError(
                "TableWriter.write needs an open writer: use `with TableWriter(...)`."
            )
        if isinstance(frame, Mapping):
            frame = _columns_of(frame)
        elif not isinstance(frame, pd.DataFrame):
            raise TypeError(
                "Argument `frame` must be a pandas DataFrame or a mapping of column names to "
                f"arrays. Received: {type(frame).__name__}"
            )
        names = [str(name) for name in frame.keys()]
        if self._columns is None:
            self._columns = names
        elif names != self._columns:
            if sorted(names) != sorted(self._columns):
                raise ValueError(
                    f"Every chunk written to {self.path} must have the columns of the first "
                    f"({self._columns}). Received: {names}"
                )
            frame = frame[self._columns] if isinstance(frame, pd.DataFrame) else frame
        rows = len(frame) if isinstance(frame, pd.DataFrame) else _length(frame)
        try:
            if self.format == "parquet":
                self._write_parquet(frame)
            else:
                self._write_csv(frame if isinstance(frame, pd.DataFrame) else pd.DataFrame(frame))
        except OSError as error:
            raise DataError(f"Cannot write {self.path}: {one_line(error)}") from error
        self.rows_written += rows

    def _write_parquet(self, frame: pd.DataFrame | dict[str, np.ndarray]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        def as_table(schema: Any = None) -> Any:
            if isinstance(frame, pd.DataFrame):
                return pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
            table = pa.table({name: frame[name] for name in self._columns or frame})
            return table if schema is None else table.cast(schema)

        if self._handle is None:
            table = as_table()
            self._schema = table.schema
            encoded = [f.name for f in self._schema if not pa.types.is_floating(f.type)]
            self._handle = pq.ParquetWriter(
                self._temporary, self._schema, use_dictionary=encoded or False
            )
        else:
            try:
                table = as_table(self._schema)
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as error:
                raise DataError(
                    f"A chunk for {self.path} does not fit the column types of the first chunk "
                    f"({_types(self._schema)}): {one_line(error)}"
                ) from error
        self._handle.write_table(table)

    def _write_csv(self, frame: pd.DataFrame) -> None:
        header = self._handle is None
        if header:
            compression = "gzip" if self.path.name.lower().endswith(".gz") else None
            if compression:
                import gzip

                self._handle = gzip.open(self._temporary, "wt", newline="")
            else:
                self._handle = open(self._temporary, "w", newline="")  # noqa: SIM115
        frame.to_csv(self._handle, header=header, index=False)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        temporary, self._temporary = self._temporary, None
        handle, self._handle = self._handle, None
        if exc_type is not None:
            _discard(handle, temporary)
            return
        try:
            if handle is None:
                raise ValueError(
                    f"Nothing was written to {self.path}: write at least one (possibly empty) "
                    "DataFrame before the `with` block ends."
                )
            handle.close()
            os.replace(temporary, self.path)
        except BaseException as error:
            _discard(handle, temporary)
            if isinstance(error, OSError):
                raise DataError(f"Cannot write {self.path}: {one_line(error)}") from error
            raise


def _columns_of(columns: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """A mapping of names to 1-D arrays of one length, checked."""
    arrays = {str(name): np.asarray(values) for name, values in columns.items()}
    lengths = {name: a.shape for name, a in arrays.items() if a.ndim != 1}
    if lengths:
        raise ValueError(f"Every column must be 1-D. Received shapes {lengths}.")
    if len({a.shape[0] for a in arrays.values()}) > 1:
        shapes = {name: a.shape[0] for name, a in arrays.items()}
        raise ValueError(f"Every column must have the same length. Received: {shapes}.")
    return arrays


def _length(columns: Mapping[str, np.ndarray]) -> int:
    return int(next(iter(columns.values())).shape[0]) if columns else 0


def _types(schema: Any) -> str:
    return ", ".join(f"{field.name} {field.type}" for field in schema)


def _discard(handle: Any, temporary: Path | None) -> None:
    """Closes and removes a partial output, whatever state it is in."""
    if handle is not None:
        with contextlib.suppress(Exception):
            handle.close()
    if temporary is not None:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


__all__ = ["TableWriter"]
