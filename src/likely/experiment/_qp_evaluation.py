"""Scoring predictions stored in a qp file (likely's own, or another code's such as FlexZBoost)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from likely.errors import DataError
from likely.experiment._pipeline import EvaluationResult, resolve_table, write_evaluation_plots

DEFAULT_TARGET = "redshift"


def evaluate_qp(
    predictions: str | Path,
    data_path: str,
    target: str = DEFAULT_TARGET,
    id_column: str | None = None,
    kind: str = "photoz",
    output_dir: str | Path | None = None,
    format: str | None = None,
) -> EvaluationResult:
    """Scores the PDFs of a qp file against the true values in a table.

    The qp file's PDFs become a likely predictive (`likely.io.read_qp`:
    normal mixtures exactly, gridded PDFs as a `GriddedPredictive`) and get
    every metric of `likely.metrics.report`. Rows are matched:

    - by id with `id_column`: the file's ancillary `id` against that column
      of the table (every id must be found, once);
    - otherwise in order: the table must have one row per PDF, and when both
      carry ids (ancillary `id`, column `id`) they must agree row by row.

    Args:
        predictions: The qp file (HDF5).
        data_path: The table with the true values (or `dc2:validation`).
        target: Column of the true values.
        id_column: Column of the table matching the file's ancillary `id`.
        kind: "photoz" (default) or "regression".
        output_dir: Folder for the evaluation plots, if any.
        format: Format of the table; None infers it from the suffix.

    Returns:
        An `EvaluationResult`.

    Raises:
        DataError: Unreadable files, missing columns or ids, row counts that
            disagree, or PDFs without a prediction.
    """
    from likely import io
    from likely.metrics import report

    predictive, ancil = io.read_qp(predictions)
    table_path, table_format = resolve_table(data_path, format)
    columns = [target] + ([id_column] if id_column else [])
    available = io.table_columns(table_path, format=table_format)
    check_ids = id_column is None and "id" in ancil and "id" in available
    frame = io.read_table(
        table_path, format=table_format, columns=columns + (["id"] if check_ids else [])
    )
    frame, _ = io.check_values(
        frame, [target], policy="error", source=str(data_path), role="target"
    )
    n = len(predictive)
    if id_column is not None:
        order = _match_ids(ancil, frame[id_column].to_numpy(), predictions, data_path, id_column)
        y = frame[target].to_numpy(dtype=float)[order]
    else:
        if len(frame) != n:
            raise DataError(
                f"{predictions} holds {n} PDFs and {data_path} {len(frame)} rows; rows are matched "
                "in order, so they must be as many (or pass --id-column to match them by id)"
            )
        if check_ids and not np.array_equal(np.asarray(ancil["id"]), frame["id"].to_numpy()):
            raise DataError(
                f"the ids of {predictions} (ancillary id) and the id column of {data_path} differ "
                "row by row; pass --id-column id to match them by id"
            )
        y = frame[target].to_numpy(dtype=float)
    try:
        result = report(y, predictive, kind=kind)
    except ValueError as error:  # e.g. true values that are not redshifts, under "photoz"
        hint = (
            " (--kind regression scores values that are not redshifts)" if kind == "photoz" else ""
        )
        raise DataError(f"cannot score {predictions}: {error}{hint}") from None
    files: list[Path] = []
    if output_dir is not None:
        files = write_evaluation_plots(predictive, y, Path(output_dir), kind=kind)
    return EvaluationResult(report=result, predictive=predictive, y_true=y, files=files)


def _match_ids(
    ancil: dict[str, np.ndarray],
    ids: np.ndarray,
    predictions: str | Path,
    data_path: str,
    id_column: str,
) -> np.ndarray:
    """Row of the table for each PDF of the file, by id."""
    if "id" not in ancil:
        raise DataError(
            f"{predictions} has no ancillary id to match with column {id_column!r}; without "
            "--id-column its PDFs are matched with the rows in order"
        )
    import pandas as pd

    wanted = np.asarray(ancil["id"])
    index = pd.Index(ids)
    if not index.is_unique:
        raise DataError(f"column {id_column!r} of {data_path} holds repeated ids")
    order = index.get_indexer(wanted)
    missing = order < 0
    if missing.any():
        first = ", ".join(str(v) for v in wanted[missing][:5])
        raise DataError(
            f"{int(missing.sum())} ids of {predictions} are not in column {id_column!r} of "
            f"{data_path} (first: {first})"
        )
    return order
