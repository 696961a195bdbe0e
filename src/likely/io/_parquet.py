"""Parquet tables through pyarrow; chunked reading with `ParquetFile.iter_batches`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

# Columns pandas adds to keep an unnamed index; they are not data.
_INDEX_COLUMN = re.compile(r"__index_level_\d+__")


# Streaming reads: without these pyarrow pre-buffers every row group that
# `iter_batches` will visit, which holds the whole file in memory.
_STREAMING = {"pre_buffer": False, "buffer_size": 1 << 20}


def _file(path: Path, streaming: bool = False):  # noqa: ANN202 - pyarrow.parquet.ParquetFile
    import pyarrow.parquet as pq

    return pq.ParquetFile(path, **(_STREAMING if streaming else {}))


def _to_pandas(table) -> pd.DataFrame:  # noqa: ANN001 - pyarrow Table or RecordBatch
    # Without the pandas metadata a column that was once the index stays a column,
    # and every frame gets a fresh RangeIndex (set by the caller).
    return table.to_pandas(ignore_metadata=True)


def columns(path: Path) -> list[str]:
    with _file(path) as handle:
        names = handle.schema_arrow.names
    return [name for name in names if not _INDEX_COLUMN.fullmatch(name)]


def read(path: Path, names: list[str]) -> pd.DataFrame:
    with _file(path) as handle:
        return _to_pandas(handle.read(columns=names))


def chunks(path: Path, names: list[str], chunk_rows: int) -> Iterator[pd.DataFrame]:
    with _file(path, streaming=True) as handle:
        for batch in handle.iter_batches(batch_size=chunk_rows, columns=names):
            yield _to_pandas(batch)


def count(path: Path) -> int:
    with _file(path) as handle:
        return handle.metadata.num_rows
