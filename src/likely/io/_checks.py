"""Checks on a table's rows: user filters, numeric columns, NaN and infinities."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from likely.errors import DataError
from likely.io._formats import _listed, check_columns, one_line

logger = logging.getLogger("likely.io")

POLICIES = ("error", "drop")
ROLES = ("feature", "target")
# How many offending rows a message shows.
_MAX_ROWS = 5


class CheckedValues(NamedTuple):
    """What `check_values` returns: the checked frame and how many rows it dropped."""

    frame: pd.DataFrame
    n_dropped: int


def apply_filters(
    frame: pd.DataFrame,
    filters: Sequence[str] | str | None,
    source: object = "the data",
    *,
    allow_empty: bool = False,
) -> pd.DataFrame:
    """Keeps the rows that pass every filter, each a pandas query expression.

    Args:
        frame: The table.
        filters: Expressions over the column names such as "mag_i_lsst < 25.3"
            or "redshift > 0.1 and detected_u" (the syntax of
            `pandas.DataFrame.query`; a name that is not a Python identifier
            goes in backticks, "`u-g` < 2"), applied in order; None or an
            empty list keeps every row. A comparison with NaN is False.
        source: Where the table came from (a file name), for messages.
        allow_empty: Whether no row passing is acceptable (for one chunk of a
            larger table); by default it is an error.

    Returns:
        The rows passing all filters, with their index labels kept.

    Raises:
        DataError: A filter is not a valid expression over the columns, does
            not give True/False per row, or (unless `allow_empty`) no row is
            left; that message says how many rows each filter removed.

    Example:
        >>> import pandas as pd
        >>> from likely.io import apply_filters
        >>> frame = pd.DataFrame({"mag": [22.0, 26.0, 24.0], "z": [0.1, 0.5, 3.5]})
        >>> apply_filters(frame, ["mag < 25.3", "z < 3"]).index.tolist()
        [0]
    """
    if filters is None:
        return frame
    if isinstance(filters, str):
        filters = [filters]
    kept = frame
    removed: list[tuple[str, int, int]] = []
    for expression in filters:
        mask = _evaluate(kept, expression, source)
        before = len(kept)
        kept = kept[mask]
        removed.append((expression, before - len(kept), before))
    if len(kept) == 0 and not allow_empty:
        steps = "; ".join(f"{expr!r} removed {n} of {_rows(before)}" for expr, n, before in removed)
        raise DataError(
            f"No rows of {source} are left after the filters ({_rows(len(frame))} read): {steps}."
        )
    return kept


def _evaluate(frame: pd.DataFrame, expression: object, source: object) -> pd.Series:
    """The boolean row mask of one filter, or a DataError naming the filter."""
    if not isinstance(expression, str) or not expression.strip():
        raise DataError(
            f"Filter {expression!r} on {source} is not an expression; a filter is a string "
            "such as 'mag_i_lsst < 25.3'."
        )
    columns = _listed(sorted(map(str, frame.columns)))
    try:
        mask = frame.eval(expression)
    except Exception as error:  # noqa: BLE001 - pandas raises many types for user expressions
        raise DataError(
            f"Filter {expression!r} on {source} is invalid: {one_line(error)}; a filter is a "
            f"pandas query expression over the columns ({columns}), such as 'x < 25.3'."
        ) from error
    if isinstance(mask, pd.Series) and pd.api.types.is_bool_dtype(mask.dtype):
        return mask.fillna(False).astype(bool)
    got = f"dtype {mask.dtype}" if isinstance(mask, pd.Series) else type(mask).__name__
    raise DataError(
        f"Filter {expression!r} on {source} does not give True or False for each row (it gives "
        f"{got}); write a comparison such as 'x < 25.3'."
    )


def check_values(
    frame: pd.DataFrame,
    columns: Sequence[str] | None = None,
    policy: str = "error",
    source: object = "the data",
    role: str = "feature",
    hint: str | None = None,
) -> CheckedValues:
    """Checks that columns hold finite numbers; drops the rows that do not, if asked.

    Columns of numbers stored as text (object dtype) are converted; any other
    non-numeric column is an error whatever the policy. Booleans count as
    numbers (0/1).

    Args:
        frame: The table.
        columns: The columns to check; None checks all.
        policy: What to do with rows holding NaN or an infinity: "error"
            (default) raises, "drop" removes them.
        source: Where the table came from (a file name), for messages.
        role: "feature" or "target": what the columns are, for messages.
        hint: How the caller's user discards such rows (an option of theirs), added
            to the message under "error"; None: `policy="drop"`, this function's own.

    Returns:
        `CheckedValues(frame, n_dropped)`: the frame (rows dropped, text
        columns converted) and how many rows were dropped (0 under "error").
        A drop is also logged at INFO level on the "likely.io" logger.

    Raises:
        DataError: The frame has no rows; a column is missing or not numeric
            (the message names it and its first bad value); under "error", a
            value is NaN or infinite (the message gives the count per column
            and the first offending row labels); under "drop", no row is left.

    Example:
        >>> import numpy as np
        >>> import pandas as pd
        >>> from likely.io import check_values
        >>> frame = pd.DataFrame({"x": [1.0, np.nan, 3.0], "y": [0.1, 0.2, np.inf]})
        >>> checked, n_dropped = check_values(frame, ["x", "y"], policy="drop")
        >>> checked.index.tolist(), n_dropped
        ([0], 2)
    """
    if policy not in POLICIES:
        raise ValueError(
            f"Argument `policy` must be one of {POLICIES}. Received: policy={policy!r}"
        )
    if role not in ROLES:
        raise ValueError(f"Argument `role` must be one of {ROLES}. Received: role={role!r}")
    if len(frame) == 0:
        raise DataError(f"{_capital(source)} has no rows; at least one is needed.")
    names = check_columns(columns, list(frame.columns), source)
    frame = _numeric(frame, names, source, role)

    bad_rows = np.zeros(len(frame), dtype=bool)
    counts: dict[str, int] = {}
    for name in names:
        values = frame[name].to_numpy(dtype="float64", na_value=np.nan)
        bad = ~np.isfinite(values)
        if bad.any():
            counts[name] = int(bad.sum())
            bad_rows |= bad
    if not counts:
        return CheckedValues(frame, 0)
    per_column = ", ".join(f"{name!r} {_rows(n)}" for name, n in counts.items())
    n_bad = int(bad_rows.sum())
    if policy == "error":
        first = ", ".join(str(label) for label in frame.index[bad_rows][:_MAX_ROWS])
        fix = hint if hint is not None else "policy='drop' discards such rows"
        raise DataError(
            f"NaN or infinite values in the {role} columns of {source}, in {_rows(n_bad)} "
            f"(per column: {per_column}); first rows: {first}. Values must be finite numbers; "
            f"{fix}."
        )
    kept = frame[~bad_rows]
    if len(kept) == 0:
        raise DataError(
            f"No rows of {source} are left after dropping the {_rows(n_bad)} with NaN or "
            f"infinite {role} values (per column: {per_column})."
        )
    logger.info(
        "Dropped %d of %d rows of %s with NaN or infinite %s values (%s).",
        n_bad,
        len(frame),
        source,
        role,
        per_column,
    )
    return CheckedValues(kept, n_bad)


def _numeric(frame: pd.DataFrame, names: list[str], source: object, role: str) -> pd.DataFrame:
    """The frame with numbers-as-text converted; a DataError for any other non-numeric column."""
    problems: list[str] = []
    converted: dict[str, pd.Series] = {}
    for name in names:
        column = frame[name]
        dtype = column.dtype
        if pd.api.types.is_bool_dtype(dtype) or (
            pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype)
        ):
            continue
        if pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
            numbers = pd.to_numeric(column, errors="coerce")
            bad = numbers.isna() & column.notna()
            if not bad.any():
                converted[name] = numbers
                continue
            label = column.index[bad.to_numpy()][0]
            problems.append(f"{name!r} (row {label} holds {column[label]!r})")
        else:
            label = column.index[0]
            problems.append(f"{name!r} (dtype {dtype}; row {label} holds {column[label]!r})")
    if problems:
        noun = "column" if len(problems) == 1 else "columns"
        raise DataError(
            f"Non-numeric {role} {noun} in {source}: {', '.join(problems)}; "
            f"{role}s must be numbers."
        )
    if converted:
        frame = frame.assign(**converted)
    return frame


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


def _capital(source: object) -> str:
    text = str(source)
    return text[:1].upper() + text[1:] if text.startswith("the ") else text


__all__ = ["CheckedValues", "apply_filters", "check_values"]
