"""Chunked prediction of a table to Parquet or CSV with distribution summaries."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from likely.errors import DataError
from likely.models import Predictive, predict_distribution

DEFAULT_QUANTILES = (0.05, 0.16, 0.5, 0.84, 0.95)
DEFAULT_CHUNK_ROWS = 100_000


def summarize(
    predictive: Predictive,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    pdf_grid: np.ndarray | None = None,
    mixture_parameters: bool = False,
) -> pd.DataFrame:
    """Summary columns of a scalar predictive: mean, std, mode, quantiles (+ optional extras).

    Quantile columns are named `q0.05`, ...; gridded PDFs `pdf_<i>` (the grid is
    the caller's); mixture parameters `weight_<k>`, `loc_<k>`, `scale_<k>`.

    Example:
        >>> import numpy as np, likely
        >>> from likely.experiment import summarize
        >>> p = likely.Predictive(likely.distributions.Normal(np.zeros(2), np.ones(2)))
        >>> list(summarize(p, quantiles=[0.5]).columns)
        ['mean', 'std', 'mode', 'q0.5']
    """
    if predictive.event_shape != ():
        raise DataError("prediction tables support scalar targets only")
    columns: dict[str, np.ndarray] = {
        "mean": predictive.mean,
        "std": predictive.stddev,
        "mode": predictive.mode,
    }
    if len(quantiles):
        values = predictive.quantiles(list(quantiles))
        for i, q in enumerate(quantiles):
            columns[f"q{q:g}"] = values[:, i]
    if pdf_grid is not None:
        table = predictive.pdf(np.asarray(pdf_grid, dtype=float)[:, None]).T
        for i in range(table.shape[1]):
            columns[f"pdf_{i}"] = table[:, i]
    if mixture_parameters:
        d = predictive.distribution
        weights = np.asarray(keras.ops.convert_to_numpy(d.weights))
        loc = np.asarray(keras.ops.convert_to_numpy(d.loc))[..., 0]
        scale = np.asarray(keras.ops.convert_to_numpy(d.scale))[..., 0]
        for k in range(weights.shape[-1]):
            columns[f"weight_{k}"] = weights[:, k]
            columns[f"loc_{k}"] = loc[:, k]
            columns[f"scale_{k}"] = scale[:, k]
    return pd.DataFrame({k: np.asarray(v, dtype="float64") for k, v in columns.items()})


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
) -> int:
    """Predicts `input_path` chunk by chunk and writes the summaries to `output_path`.

    Memory stays bounded by `chunk_rows` whatever the input size. The output
    appears only when every chunk succeeded (written to a temporary file,
    then renamed).

    Returns:
        The number of rows written.
    """
    from likely import io

    read_columns = list(columns) + ([id_column] if id_column and id_column not in columns else [])
    written = 0
    with io.TableWriter(output_path) as writer:
        for chunk in io.iter_table_chunks(
            input_path, format=input_format, columns=read_columns, chunk_rows=chunk_rows
        ):
            chunk, _ = io.check_values(
                chunk, columns, policy=invalid_values, source=str(input_path)
            )
            x = chunk[columns].to_numpy(dtype="float32")
            summary = summarize(
                predict_distribution(model, x), quantiles, pdf_grid, mixture_parameters
            )
            if id_column:
                summary.insert(0, id_column, chunk[id_column].to_numpy())
            writer.write(summary)
            written += len(summary)
            if on_chunk is not None:
                on_chunk(len(summary))
    return written
