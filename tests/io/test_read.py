import sys

import h5py
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from likely.datasets import dc2_path, read_dc2_hdf5
from likely.errors import DataError
from likely.io import count_rows, infer_format, iter_table_chunks, read_table, table_columns

FORMATS = ("csv", "parquet", "hdf5", "fits")
SUFFIXES = {"csv": ".csv", "parquet": ".parquet", "hdf5": ".h5", "fits": ".fits"}


def reference_frame(n: int = 37, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": np.arange(n, dtype=np.int64) + 1000,
            "mag": rng.normal(24.0, 1.0, n),
            "err": rng.uniform(0.01, 0.2, n).astype(np.float32),
            "detected": rng.uniform(size=n) > 0.2,
            "name": [f"gal{i}" for i in range(n)],
        }
    )


def write_with_library(frame: pd.DataFrame, path, format: str, group: str = "photometry"):
    """Writes `frame` with the format's own library, independently of likely.io."""
    if format == "csv":
        frame.to_csv(path, index=False)
    elif format == "parquet":
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=10)
    elif format == "hdf5":
        # Creation order tracked, so the file's column order is the frame's.
        with h5py.File(path, "w", track_order=True) as handle:
            node = handle.create_group(group, track_order=True) if group else handle
            for name in frame:
                values = frame[name].to_numpy()
                if values.dtype == object:
                    values = values.astype(h5py.string_dtype())
                node.create_dataset(name, data=values)
    else:
        table = pytest.importorskip("astropy.table").Table.from_pandas(frame)
        table.write(path)
    return path


@pytest.fixture(params=FORMATS)
def table_file(request, tmp_path):
    frame = reference_frame()
    path = tmp_path / f"table{SUFFIXES[request.param]}"
    return write_with_library(frame, path, request.param), request.param, frame


def test_round_trip_every_format(table_file):
    path, format, frame = table_file
    back = read_table(path)
    assert infer_format(path) == format
    assert list(back.columns) == list(frame.columns)
    assert back.index.equals(pd.RangeIndex(len(frame)))
    if format == "csv":  # text: float32 comes back as the float64 of its decimal form
        pd.testing.assert_frame_equal(back, frame, check_dtype=False, rtol=1e-6)
    else:
        pd.testing.assert_frame_equal(back, frame)


def test_column_selection_keeps_requested_order(table_file):
    path, format, frame = table_file
    back = read_table(path, columns=["mag", "id", "mag"])
    assert list(back.columns) == ["mag", "id"]
    np.testing.assert_array_equal(back["id"], frame["id"])
    np.testing.assert_allclose(back["mag"], frame["mag"])
    assert table_columns(path) == list(frame.columns)


@pytest.mark.parametrize("chunk_rows", [1, 8, 37, 1000])
def test_chunks_concatenate_to_the_full_table(table_file, chunk_rows):
    path, format, frame = table_file
    chunks = list(iter_table_chunks(path, columns=["id", "err", "name"], chunk_rows=chunk_rows))
    assert all(1 <= len(chunk) <= chunk_rows for chunk in chunks)
    assert len(chunks) == -(-len(frame) // chunk_rows)
    pd.testing.assert_frame_equal(
        pd.concat(chunks), read_table(path, columns=["id", "err", "name"])
    )
    assert count_rows(path) == len(frame)


def test_fits_big_endian_columns_become_native(tmp_path):
    fits = pytest.importorskip("astropy.io.fits")
    values = np.linspace(0.0, 1.0, 11)
    columns = [
        fits.Column(name="z", format="D", array=values),
        fits.Column(name="n", format="J", array=np.arange(11)),
        fits.Column(name="vector", format="3E", array=np.ones((11, 3))),
    ]
    hdus = fits.HDUList(
        [
            fits.PrimaryHDU(),
            fits.ImageHDU(np.zeros(3), name="IMG"),
            fits.BinTableHDU.from_columns(columns, name="CAT"),
        ]
    )
    path = tmp_path / "cat.fits.gz"
    hdus.writeto(path)
    with fits.open(path) as check:
        assert check["CAT"].data["z"].dtype.byteorder == ">"  # FITS stores big-endian
    frame = read_table(path)
    assert list(frame.columns) == ["z", "n"]  # the vector column is not a scalar column
    assert frame["z"].dtype == np.dtype("float64") and frame["z"].dtype.isnative
    assert frame["n"].dtype.isnative
    np.testing.assert_array_equal(frame["z"], values)
    pd.testing.assert_frame_equal(read_table(path, hdu="CAT"), frame)
    pd.testing.assert_frame_equal(pd.concat(iter_table_chunks(path, chunk_rows=4)), frame)
    with pytest.raises(DataError, match=r"HDU 'IMG' of FITS file .* is a ImageHDU, not a table"):
        read_table(path, hdu="IMG")
    with pytest.raises(DataError, match=r"has no HDU 7; HDUs: 0 PRIMARY"):
        read_table(path, hdu=7)


def test_dc2_layout_reads_the_vendored_file():
    path = dc2_path("train")
    frame = read_table(path)
    pd.testing.assert_frame_equal(frame, read_dc2_hdf5(path))
    assert frame.shape == (10225, 14) and count_rows(path) == 10225
    sub = read_table(path, format="hdf5", columns=["redshift"], group="photometry")
    np.testing.assert_array_equal(sub["redshift"], frame["redshift"])
    chunks = list(iter_table_chunks(path, columns=["id", "mag_i_lsst"], chunk_rows=3000))
    assert [len(c) for c in chunks] == [3000, 3000, 3000, 1225]
    assert chunks[-1].index[0] == 9000
    pd.testing.assert_frame_equal(pd.concat(chunks), frame[["id", "mag_i_lsst"]])


def test_hdf5_other_groups_and_root_layout(tmp_path):
    frame = reference_frame(n=5)
    nested = write_with_library(frame, tmp_path / "nested.hdf5", "hdf5", group="data/cat")
    pd.testing.assert_frame_equal(read_table(nested, group="data/cat"), frame)
    root = write_with_library(frame, tmp_path / "root.h5", "hdf5", group="")
    pd.testing.assert_frame_equal(read_table(root), frame)
    with pytest.raises(DataError, match=r"has no group 'nope'; groups found: 'data', 'data/cat'"):
        read_table(nested, group="nope")
    with pytest.raises(DataError, match=r"no group 'photometry' nor 1-D datasets at its root"):
        read_table(nested)


def test_hdf5_from_pandas_pytables_is_refused_with_advice(tmp_path):
    path = tmp_path / "pandas.h5"
    with h5py.File(path, "w") as handle:  # what DataFrame.to_hdf leaves at the root
        handle.attrs["PYTABLES_FORMAT_VERSION"] = "2.1"
        handle.create_group("df").attrs["pandas_type"] = "frame"
    with pytest.raises(DataError, match=r"written by pandas/PyTables .*\.to_parquet"):
        read_table(path)


def test_hdf5_columns_of_different_lengths(tmp_path):
    path = tmp_path / "ragged.h5"
    with h5py.File(path, "w") as handle:
        handle["photometry/a"] = np.zeros(3)
        handle["photometry/b"] = np.zeros(4)
    with pytest.raises(DataError, match=r"different lengths \('a': 3, 'b': 4\)"):
        read_table(path)
    assert len(read_table(path, columns=["b"])) == 4


def test_chunked_parquet_read_stays_within_chunk_rows(tmp_path):
    rows = 300_000
    path = tmp_path / "big.parquet"
    noise = np.random.default_rng(0).normal(size=rows)  # incompressible
    table = pa.table({"x": np.arange(rows, dtype=np.float64), "noise": noise})
    pq.write_table(table, path, row_group_size=30_000)  # row groups larger than a chunk
    assert count_rows(path) == rows
    baseline = pa.total_allocated_bytes()
    most_held = 0
    seen = 0
    for chunk in iter_table_chunks(path, chunk_rows=10_000):
        most_held = max(most_held, pa.total_allocated_bytes() - baseline)
        assert len(chunk) <= 10_000
        assert chunk["x"].iloc[0] == seen and chunk.index[0] == seen
        seen += len(chunk)
    assert seen == rows
    # Arrow's own allocations (a counter, not process memory) stay at a few row
    # groups and a 1 MB read buffer (1.5 MB measured), below the 4.7 MB file:
    # it is streamed. Pre-buffering, pyarrow's default, held 6 MB.
    assert most_held < 0.5 * path.stat().st_size


def test_count_rows_csv_counts_quoted_line_breaks(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text('id,note\n1,"two\nlines"\n2,plain\n')
    assert count_rows(path) == 2 == len(read_table(path))


def test_pandas_index_columns_are_not_data(tmp_path):
    frame = reference_frame(n=4).iloc[[3, 1, 0, 2]].reset_index(drop=True)
    path = tmp_path / "indexed.parquet"
    frame.set_index("id").to_parquet(path)  # a named index is stored as a column
    assert "id" in pq.ParquetFile(path).schema_arrow.names
    assert set(table_columns(path)) == set(frame.columns)
    pd.testing.assert_frame_equal(read_table(path)[list(frame.columns)], frame)
    frame.iloc[[3, 0, 1]].to_parquet(tmp_path / "unnamed.parquet")  # unnamed index
    assert "__index_level_0__" in pq.ParquetFile(tmp_path / "unnamed.parquet").schema_arrow.names
    assert table_columns(tmp_path / "unnamed.parquet") == list(frame.columns)


# --- errors: one line, saying what, where and what is allowed ---------------------------


def one_line_error(call, *args, **kwargs) -> str:
    with pytest.raises(DataError) as info:
        call(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("call", [read_table, iter_table_chunks, count_rows, table_columns])
def test_missing_file(tmp_path, call):
    message = one_line_error(call, tmp_path / "nowhere.parquet")
    assert message == f"Data file not found: {tmp_path / 'nowhere.parquet'}"


def test_directory_is_not_a_table(tmp_path):
    assert "is a directory" in one_line_error(read_table, tmp_path)


@pytest.mark.parametrize(
    ("suffix", "library_words"),
    [
        (".parquet", "magic bytes"),
        (".h5", "signature"),
        (".fits", "FITS"),
    ],
)
def test_garbage_bytes_are_unreadable(tmp_path, suffix, library_words):
    if suffix == ".fits":
        pytest.importorskip("astropy")
    path = tmp_path / f"garbage{suffix}"
    path.write_bytes(b"this is not a table at all\x00\x01" * 20)
    label = {".parquet": "Parquet", ".h5": "HDF5", ".fits": "FITS"}[suffix]
    for call in (read_table, iter_table_chunks, count_rows):
        message = one_line_error(call, path)
        assert message.startswith(f"Cannot read {path} as {label}: ")
        assert library_words in message
    with pytest.raises(DataError) as info:
        read_table(path)
    assert info.value.__cause__ is not None  # the library's error is chained


def test_unreadable_csv(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert "the file is empty (no header line)" in one_line_error(read_table, empty)
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b\n1,2\n3,4,5\n")
    message = one_line_error(read_table, ragged)
    assert message.startswith(f"Cannot read {ragged} as CSV:") and "line 3" in message
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"a,b\n1,2\n\xff\xfe,3\n")
    assert "can't decode" in one_line_error(read_table, binary)


def test_corrupt_row_mid_file_fails_while_iterating(tmp_path):
    path = tmp_path / "late.csv"
    path.write_text("a,b\n" + "1,2\n" * 50 + "3,4,5\n")
    chunks = iter_table_chunks(path, chunk_rows=10)
    assert len(next(chunks)) == 10
    with pytest.raises(DataError, match=r"Cannot read .*late.csv as CSV: .*line 52"):
        list(chunks)


def test_unknown_format(tmp_path):
    path = tmp_path / "table.xlsx"
    path.write_bytes(b"x")
    message = one_line_error(read_table, path)
    assert "Cannot tell the format of data file" in message
    assert ".csv" in message and ".parquet" in message and ".fits.gz" in message
    assert "'csv', 'fits', 'hdf5', 'parquet'" in message
    message = one_line_error(read_table, path, format="excel")
    assert message == (
        f"Unknown data format 'excel' for {path}; allowed: 'csv', 'fits', 'hdf5', 'parquet'."
    )


def test_format_options_belong_to_their_format(tmp_path):
    path = write_with_library(reference_frame(3), tmp_path / "t.csv", "csv")
    assert "HDF5 option group='g'" in one_line_error(read_table, path, group="g")
    assert "FITS option hdu=1" in one_line_error(read_table, path, hdu=1)


@pytest.mark.parametrize("call", [read_table, iter_table_chunks])
def test_unknown_columns_are_named_with_what_is_available(table_file, call):
    path, format, frame = table_file
    message = one_line_error(call, path, columns=["mag", "magg", "redshift"])
    assert message.startswith("Unknown columns 'magg', 'redshift' in ")
    assert "did you mean 'magg' -> 'mag'?" in message
    assert message.endswith("available (5): 'detected', 'err', 'id', 'mag', 'name'.")


def test_long_column_lists_are_truncated(tmp_path):
    frame = pd.DataFrame({f"c{i:02d}": [1.0] for i in range(30)})
    path = tmp_path / "wide.parquet"
    frame.to_parquet(path)
    message = one_line_error(read_table, path, columns=["zzz"])
    assert "available (30): 'c00', 'c01'," in message and "'c19', ... and 10 more." in message
    assert "'c20'" not in message


def test_bad_chunk_rows():
    with pytest.raises(ValueError, match=r"`chunk_rows` must be a positive integer.*=0"):
        iter_table_chunks(dc2_path("train"), chunk_rows=0)


def test_fits_without_astropy_says_what_to_install(tmp_path, monkeypatch):
    path = tmp_path / "t.fits"
    path.write_bytes(b"SIMPLE")
    for name in [m for m in sys.modules if m == "astropy" or m.startswith("astropy.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "astropy", None)  # import astropy now fails
    with pytest.raises(ImportError, match=r'pip install "likely\[fits\]"'):
        read_table(path)
