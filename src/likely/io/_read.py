"""Reading tables: whole, in bounded chunks, or just counting their rows."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType

import pandas as pd

from likely.errors import DataError
from likely.io import _csv, _fits, _hdf5, _parquet
from likely.io._formats import check_columns, check_input_file, format_label, infer_format, reading

_BACKENDS: dict[str, ModuleType] = {
    "csv": _csv,
    "parquet": _parquet,
    "hdf5": _hdf5,
    "fits": _fits,
}


def _open(
    path: str | os.PathLike, format: str | None, group: str | None, hdu: int | str | None
) -> tuple[Path, str, ModuleType, dict]:
    """Checks the file, its format and the format's options; returns what reading needs."""
    file = check_input_file(path)
    name = infer_format(path, format)
    if group is not None and name != "hdf5":
        raise DataError(
            f"The HDF5 option group={group!r} was given for {path}, a {format_label(name)} file."
        )
    if hdu is not None and name != "fits":
        raise DataError(
            f"The FITS option hdu={hdu!r} was given for {path}, a {format_label(name)} file."
        )
    options: dict = {}
    if name == "hdf5":
        options["group"] = group
    elif name == "fits":
        options["hdu"] = hdu
    return file, name, _BACKENDS[name], options


def table_columns(
    path: str | os.PathLike,
    format: str | None = None,
    *,
    group: str | None = None,
    hdu: int | str | None = None,
) -> list[str]:
    """The column names of a table file, without reading its rows.

    Args:
        path: The file.
        format: "csv", "parquet", "hdf5" or "fits"; None infers it from the suffix.
        group: HDF5 only: the group holding one 1-D dataset per column
            (default: "photometry", else the file's root).
        hdu: FITS only: index or name of the table HDU (default: the first table).

    Returns:
        The names, in file order.

    Raises:
        DataError: The file is missing, unreadable or of an unknown format.

    Example:
        >>> from likely.datasets import dc2_path
        >>> from likely.io import table_columns
        >>> table_columns(dc2_path("train"))[:3]
        ['id', 'mag_err_g_lsst', 'mag_err_i_lsst']
    """
    file, name, backend, options = _open(path, format, group, hdu)
    with reading(path, name):
        return backend.columns(file, **options)


def read_table(
    path: str | os.PathLike,
    format: str | None = None,
    columns: Sequence[str] | None = None,
    *,
    group: str | None = None,
    hdu: int | str | None = None,
) -> pd.DataFrame:
    """Reads a CSV, Parquet, HDF5 or FITS table into a DataFrame.

    HDF5 files must hold one 1-D dataset per column in a group, the layout of
    the DC2 files (group "photometry"); pandas/PyTables HDF5 files are refused.
    FITS reads the first table HDU (or `hdu`), converted to native byte order;
    it needs astropy (`pip install "likely[fits]"`).

    Args:
        path: The file.
        format: "csv", "parquet", "hdf5" or "fits"; None infers it from the
            suffix (.csv, .csv.gz, .parquet, .pq, .h5, .hdf5, .hdf, .fits,
            .fit, .fits.gz).
        columns: Columns to read, in the order wanted; None reads all.
        group: HDF5 only: the group holding the columns (default
            "photometry", else the datasets at the file's root).
        hdu: FITS only: index or name of the table HDU.

    Returns:
        The table, indexed by row number in the file (0-based, header excluded).

    Raises:
        DataError: The file is missing, unreadable, of an unknown format, or
            lacks a requested column (the message lists those available).

    Example:
        >>> from likely.datasets import dc2_path
        >>> from likely.io import read_table
        >>> frame = read_table(dc2_path("train"), columns=["redshift", "mag_i_lsst"])
        >>> frame.shape, list(frame.columns)
        ((10225, 2), ['redshift', 'mag_i_lsst'])
    """
    file, name, backend, options = _open(path, format, group, hdu)
    with reading(path, name):
        names = check_columns(columns, backend.columns(file, **options), path)
        frame = backend.read(file, names, **options)
    frame.index = pd.RangeIndex(len(frame))
    return frame


def iter_table_chunks(
    path: str | os.PathLike,
    format: str | None = None,
    columns: Sequence[str] | None = None,
    chunk_rows: int = 100_000,
    *,
    group: str | None = None,
    hdu: int | str | None = None,
) -> Iterator[pd.DataFrame]:
    """Reads a table chunk by chunk, so memory stays bounded whatever the file's size.

    Parquet is read batch by batch (`pyarrow.parquet.ParquetFile.iter_batches`),
    CSV with pandas' `chunksize`, HDF5 by slicing the datasets and FITS by
    slicing the memory-mapped table (a `.fits.gz` file cannot be mapped:
    astropy decompresses it whole). The file, its format and the columns are
    checked when this function is called, before the first chunk.

    Args:
        path: The file.
        format: "csv", "parquet", "hdf5" or "fits"; None infers it from the suffix.
        columns: Columns to read, in the order wanted; None reads all.
        chunk_rows: Most rows in one chunk.
        group: HDF5 only: the group holding the columns.
        hdu: FITS only: index or name of the table HDU.

    Returns:
        An iterator of DataFrames of 1 to `chunk_rows` rows each (none for an
        empty table), indexed by row number in the file, so that concatenated
        they equal `read_table(path, format, columns)`.

    Raises:
        DataError: As `read_table`, at the call for a bad file or column and
            during iteration for a corrupt row.

    Example:
        >>> from likely.datasets import dc2_path
        >>> from likely.io import iter_table_chunks
        >>> [len(c) for c in iter_table_chunks(dc2_path("train"), chunk_rows=4000)]
        [4000, 4000, 2225]
    """
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise ValueError(
            f"Argument `chunk_rows` must be a positive integer. Received: chunk_rows={chunk_rows!r}"
        )
    file, name, backend, options = _open(path, format, group, hdu)
    with reading(path, name):
        names = check_columns(columns, backend.columns(file, **options), path)
    return _numbered(backend.chunks(file, names, chunk_rows, **options), path, name)


def _numbered(chunks: Iterator[pd.DataFrame], path: str | os.PathLike, name: str) -> Iterator:
    start = 0
    with reading(path, name):
        for chunk in chunks:
            if len(chunk) == 0:
                continue
            chunk.index = pd.RangeIndex(start, start + len(chunk))
            start += len(chunk)
            yield chunk


def count_rows(
    path: str | os.PathLike,
    format: str | None = None,
    *,
    group: str | None = None,
    hdu: int | str | None = None,
) -> int:
    """The number of rows of a table file, read from metadata where the format has it.

    Parquet, HDF5 and FITS answer from their metadata without reading rows;
    CSV is parsed (one column, in chunks), so quoted line breaks count right.

    Args:
        path: The file.
        format: "csv", "parquet", "hdf5" or "fits"; None infers it from the suffix.
        group: HDF5 only: the group holding the columns.
        hdu: FITS only: index or name of the table HDU.

    Returns:
        The number of data rows.

    Raises:
        DataError: The file is missing, unreadable or of an unknown format.

    Example:
        >>> from likely.datasets import dc2_path
        >>> from likely.io import count_rows
        >>> count_rows(dc2_path("validation"))
        20449
    """
    file, name, backend, options = _open(path, format, group, hdu)
    with reading(path, name):
        return backend.count(file, **options)
