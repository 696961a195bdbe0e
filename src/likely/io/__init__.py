"""Reading and writing tables (CSV, Parquet, HDF5 column layout, FITS) and qp files.

Readers check the file, its format and its columns and turn every library
failure into a one-line `likely.errors.DataError`; `iter_table_chunks`
keeps memory bounded for tables larger than RAM; `TableWriter` writes chunk
by chunk and publishes the file only when it is complete. `apply_filters`
and `check_values` validate rows before they reach a model. Non-detections
(magnitude 99) are handled by `likely.datasets.replace_nondetections`.

qp files (LSST DESC's per-object PDFs, what RAIL's estimators write):
`qp_parameters` turns a predictive into qp's `mixmod` or `interp`
parameters, `QpWriter` writes them chunk by chunk, `to_qp_ensemble` makes a
`qp.Ensemble`, and `read_qp` / `predictive_from_qp` turn a qp ensemble
(likely's or anyone's, e.g. FlexZBoost's) back into a predictive that
`likely.metrics` scores; gridded PDFs become a `GriddedPredictive`.
"""

from likely.io._checks import CheckedValues, apply_filters, check_values
from likely.io._formats import READ_FORMATS, WRITE_FORMATS, infer_format
from likely.io._gridded import GriddedPredictive
from likely.io._qp import (
    QP_GRID,
    QpParameters,
    QpWriter,
    is_qp_file,
    predictive_from_qp,
    qp_parameters,
    read_qp,
    to_qp_ensemble,
)
from likely.io._read import count_rows, iter_table_chunks, read_table, table_columns
from likely.io._write import TableWriter

__all__ = [
    "QP_GRID",
    "READ_FORMATS",
    "WRITE_FORMATS",
    "CheckedValues",
    "GriddedPredictive",
    "QpParameters",
    "QpWriter",
    "TableWriter",
    "apply_filters",
    "check_values",
    "count_rows",
    "infer_format",
    "is_qp_file",
    "iter_table_chunks",
    "predictive_from_qp",
    "qp_parameters",
    "read_qp",
    "read_table",
    "table_columns",
    "to_qp_ensemble",
]
