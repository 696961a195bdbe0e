"""Reading and writing tables: CSV, Parquet, HDF5 (column layout) and FITS.

Readers check the file, its format and its columns and turn every library
failure into a one-line `likely.errors.DataError`; `iter_table_chunks`
keeps memory bounded for tables larger than RAM; `TableWriter` writes chunk
by chunk and publishes the file only when it is complete. `apply_filters`
and `check_values` validate rows before they reach a model. Non-detections
(magnitude 99) are handled by `likely.datasets.replace_nondetections`.
"""

from likely.io._checks import CheckedValues, apply_filters, check_values
from likely.io._formats import READ_FORMATS, WRITE_FORMATS, infer_format
from likely.io._read import count_rows, iter_table_chunks, read_table, table_columns
from likely.io._write import TableWriter

__all__ = [
    "READ_FORMATS",
    "WRITE_FORMATS",
    "CheckedValues",
    "TableWriter",
    "apply_filters",
    "check_values",
    "count_rows",
    "infer_format",
    "iter_table_chunks",
    "read_table",
    "table_columns",
]
