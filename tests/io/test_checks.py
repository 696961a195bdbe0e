import logging

import numpy as np
import pandas as pd
import pytest

from likely.errors import DataError
from likely.io import CheckedValues, apply_filters, check_values


def catalog(n: int = 10) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "mag_i_lsst": np.linspace(20.0, 29.0, n),
            "redshift": np.linspace(0.0, 3.0, n),
            "detected_u": np.arange(n) % 2 == 0,
        }
    )


def one_line_error(call, *args, **kwargs) -> str:
    with pytest.raises(DataError) as info:
        call(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


# --- filters ---------------------------------------------------------------------------


def test_filters_keep_rows_passing_every_expression():
    frame = catalog()
    kept = apply_filters(frame, ["mag_i_lsst < 25.3", "redshift > 0.5 and detected_u"])
    expected = frame[(frame.mag_i_lsst < 25.3) & (frame.redshift > 0.5) & frame.detected_u]
    pd.testing.assert_frame_equal(kept, expected)
    assert kept.index.tolist() == [2, 4]
    pd.testing.assert_frame_equal(apply_filters(frame, "redshift < 1"), frame[frame.redshift < 1])
    assert apply_filters(frame, None) is frame
    assert apply_filters(frame, []) is frame


def test_filter_comparisons_with_nan_drop_the_row():
    frame = pd.DataFrame({"x": [1.0, np.nan, 3.0]})
    assert apply_filters(frame, ["x > 0"]).index.tolist() == [0, 2]


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("mag_i_lsst <", "invalid syntax"),
        ("mag_u_lsst < 25", "name 'mag_u_lsst' is not defined"),
        ("__import__('os')", "is invalid"),
    ],
)
def test_bad_filter_is_named_with_the_columns(expression, words):
    message = one_line_error(apply_filters, catalog(), ["redshift < 2", expression], "cat.pq")
    assert message.startswith(f"Filter {expression!r} on cat.pq is invalid: ")
    assert words in message
    assert "('detected_u', 'mag_i_lsst', 'redshift')" in message


def test_filter_must_give_true_or_false():
    message = one_line_error(apply_filters, catalog(), ["redshift * 2"], "cat.pq")
    assert "'redshift * 2' on cat.pq does not give True or False" in message
    assert "dtype float64" in message
    assert "is not an expression" in one_line_error(apply_filters, catalog(), [""])
    assert "is not an expression" in one_line_error(apply_filters, catalog(), [3])


def test_empty_after_filters_says_what_each_filter_removed():
    message = one_line_error(
        apply_filters, catalog(), ["mag_i_lsst < 25", "redshift > 2.5"], "cat.parquet"
    )
    assert message == (
        "No rows of cat.parquet are left after the filters (10 rows read): "
        "'mag_i_lsst < 25' removed 5 of 10 rows; 'redshift > 2.5' removed 5 of 5 rows."
    )
    assert len(apply_filters(catalog(), ["redshift > 9"], allow_empty=True)) == 0


# --- values ----------------------------------------------------------------------------


def test_clean_numeric_frame_passes_unchanged():
    frame = catalog()
    checked = check_values(frame, ["mag_i_lsst", "detected_u"])
    assert isinstance(checked, CheckedValues) and checked.n_dropped == 0
    pd.testing.assert_frame_equal(checked.frame, frame)


def test_numbers_stored_as_text_are_converted():
    frame = pd.DataFrame({"x": ["1.5", "2", None], "y": [1.0, 2.0, 3.0]})
    with pytest.raises(DataError, match="'x' 1 row"):  # None became NaN
        check_values(frame)
    checked, n_dropped = check_values(frame, policy="drop")
    assert n_dropped == 1 and checked["x"].dtype == np.float64
    np.testing.assert_array_equal(checked["x"], [1.5, 2.0])


def test_non_numeric_columns_are_named_with_their_first_bad_value():
    frame = pd.DataFrame(
        {
            "mag": ["21.0", "22.5", "bright", "oops"],
            "band": pd.Categorical(["g", "r", "i", "z"]),
            "z": [0.1, 0.2, 0.3, 0.4],
        },
        index=[10, 11, 12, 13],
    )
    message = one_line_error(check_values, frame, ["z", "mag", "band"], "drop", "cat.csv")
    assert message == (
        "Non-numeric feature columns in cat.csv: 'mag' (row 12 holds 'bright'), "
        "'band' (dtype category; row 10 holds 'g'); features must be numbers."
    )
    message = one_line_error(check_values, frame, ["mag"], source="cat.csv", role="target")
    assert message.startswith("Non-numeric target column in cat.csv: 'mag'")


def test_nan_and_inf_error_gives_counts_and_first_rows():
    frame = catalog(12)
    frame.loc[[3, 5, 6, 8, 9, 11], "mag_i_lsst"] = [np.nan, np.inf, -np.inf, np.nan, np.nan, 1e400]
    frame.loc[[1, 3], "redshift"] = np.nan
    message = one_line_error(check_values, frame, ["mag_i_lsst", "redshift"], source="cat.h5")
    assert message == (
        "NaN or infinite values in the feature columns of cat.h5, in 7 rows "
        "(per column: 'mag_i_lsst' 6 rows, 'redshift' 2 rows); first rows: 1, 3, 5, 6, 8. "
        "Values must be finite numbers; policy='drop' discards such rows."
    )
    # Only the checked columns count.
    assert check_values(frame, ["detected_u"]).n_dropped == 0


def test_drop_policy_removes_the_rows_and_reports_the_count(caplog):
    frame = catalog(12)
    frame.loc[[3, 5], "mag_i_lsst"] = [np.nan, np.inf]
    frame.loc[[3, 7], "redshift"] = np.nan
    with caplog.at_level(logging.INFO, logger="likely.io"):
        checked, n_dropped = check_values(frame, policy="drop", source="cat.h5", role="target")
    assert n_dropped == 3
    assert checked.index.tolist() == [0, 1, 2, 4, 6, 8, 9, 10, 11]
    assert np.isfinite(checked[["mag_i_lsst", "redshift"]].to_numpy()).all()
    assert "Dropped 3 of 12 rows of cat.h5 with NaN or infinite target values" in caplog.text


def test_nullable_integers_with_missing_values_count_as_nan():
    frame = pd.DataFrame({"n": pd.array([1, None, 3], dtype="Int64")})
    assert check_values(frame, policy="drop").n_dropped == 1


def test_empty_after_dropping_and_empty_input():
    frame = pd.DataFrame({"x": [np.nan, np.inf]})
    message = one_line_error(check_values, frame, ["x"], "drop", "cat.csv")
    assert message == (
        "No rows of cat.csv are left after dropping the 2 rows with NaN or infinite "
        "feature values (per column: 'x' 2 rows)."
    )
    assert (
        one_line_error(check_values, frame.iloc[:0])
        == "The data has no rows; at least one is needed."
    )


def test_unknown_column_and_bad_arguments():
    message = one_line_error(check_values, catalog(), ["redshfit"], source="cat.csv")
    assert message.startswith("Unknown column 'redshfit' in cat.csv (did you mean")
    with pytest.raises(ValueError, match=r"`policy` must be one of \('error', 'drop'\)"):
        check_values(catalog(), policy="ignore")
    with pytest.raises(ValueError, match=r"`role` must be one of"):
        check_values(catalog(), role="label")
