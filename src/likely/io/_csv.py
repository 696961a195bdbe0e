"""CSV tables through pandas' C parser; chunked reading with `chunksize`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from likely.errors import DataError


def columns(path: Path) -> list[str]:
    """The header of the file: its column names."""
    try:
        header = pd.read_csv(path, nrows=0)
    except pd.errors.EmptyDataError as error:
        raise DataError(
            f"Cannot read {path} as CSV: the file is empty (no header line)."
        ) from error
    return [str(name) for name in header.columns]


def _usecols(path: Path, names: list[str]) -> list[str] | None:
    # Reading every column without `usecols` keeps pandas' check that no row has
    # more fields than the header (with `usecols` extra fields pass silently).
    return None if names == columns(path) else names


def read(path: Path, names: list[str]) -> pd.DataFrame:
    frame = pd.read_csv(path, usecols=_usecols(path, names))
    return frame[names]


def chunks(path: Path, names: list[str], chunk_rows: int) -> Iterator[pd.DataFrame]:
    with pd.read_csv(path, usecols=_usecols(path, names), chunksize=chunk_rows) as reader:
        for chunk in reader:
            yield chunk[names]


def count(path: Path) -> int:
    """Rows (header excluded), parsing one column so quoted line breaks count right."""
    rows = 0
    with pd.read_csv(path, usecols=[0], chunksize=1_000_000) as reader:
        for chunk in reader:
            rows += len(chunk)
    return rows
