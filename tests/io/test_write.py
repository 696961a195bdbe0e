import os

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from likely.errors import DataError
from likely.io import TableWriter, iter_table_chunks, read_table


def chunk(start: int, n: int) -> pd.DataFrame:
    ids = np.arange(start, start + n, dtype=np.int64)
    return pd.DataFrame({"id": ids, "mean": ids * 0.5, "std": np.full(n, 0.1, np.float32)})


@pytest.mark.parametrize("name", ["out.parquet", "out.pq", "out.csv", "out.csv.gz"])
def test_chunks_are_written_in_order_and_read_back(tmp_path, name):
    path = tmp_path / "deep" / "er" / name
    with TableWriter(path) as writer:
        for start in range(0, 25, 10):
            writer.write(chunk(start, min(10, 25 - start)))
        assert not path.exists()  # nothing appears before the block ends
    assert writer.rows_written == 25
    back = read_table(path)
    expected = chunk(0, 25)
    pd.testing.assert_frame_equal(back, expected, check_dtype=not name.startswith("out.csv"))
    assert sorted(os.listdir(path.parent)) == [name]  # no temporary file left


def test_parquet_chunks_become_row_groups_and_stream_back(tmp_path):
    path = tmp_path / "out.parquet"
    with TableWriter(path) as writer:
        for start in range(0, 30, 10):
            writer.write(chunk(start, 10))
    assert pq.ParquetFile(path).metadata.num_row_groups == 3
    lengths = [len(c) for c in iter_table_chunks(path, chunk_rows=10)]
    assert lengths == [10, 10, 10]


def test_later_chunks_are_aligned_to_the_first(tmp_path):
    path = tmp_path / "out.parquet"
    with TableWriter(path) as writer:
        writer.write(chunk(0, 2))
        shuffled = chunk(2, 2)[["std", "id", "mean"]]
        shuffled["id"] = shuffled["id"].astype(np.int32)  # cast back to the first schema
        writer.write(shuffled)
    back = read_table(path)
    assert list(back.columns) == ["id", "mean", "std"] and back["id"].dtype == np.int64
    np.testing.assert_array_equal(back["id"], [0, 1, 2, 3])
    with pytest.raises(ValueError, match=r"must have the columns of the first"):
        with TableWriter(tmp_path / "other.csv") as writer:
            writer.write(chunk(0, 2))
            writer.write(chunk(0, 2).rename(columns={"mean": "mode"}))
    assert os.listdir(tmp_path) == ["out.parquet"]


def test_chunk_that_cannot_take_the_first_chunks_types(tmp_path):
    path = tmp_path / "out.parquet"
    with pytest.raises(
        DataError, match=r"does not fit the column types of the first chunk \(id int64"
    ):
        with TableWriter(path) as writer:
            writer.write(chunk(0, 2))
            later = chunk(2, 2)
            later["id"] = ["a", "b"]
            writer.write(later)
    assert os.listdir(tmp_path) == []


def test_empty_frame_gives_a_file_with_columns_and_no_rows(tmp_path):
    with TableWriter(tmp_path / "empty.parquet") as writer:
        writer.write(chunk(0, 0))
    back = read_table(tmp_path / "empty.parquet")
    assert list(back.columns) == ["id", "mean", "std"] and len(back) == 0
    with pytest.raises(ValueError, match="Nothing was written"):
        with TableWriter(tmp_path / "none.parquet"):
            pass
    assert os.listdir(tmp_path) == ["empty.parquet"]


@pytest.mark.parametrize("name", ["out.parquet", "out.csv"])
@pytest.mark.parametrize("interruption", [RuntimeError, KeyboardInterrupt])
def test_exception_mid_write_leaves_nothing(tmp_path, name, interruption):
    path = tmp_path / name
    with pytest.raises(interruption):
        with TableWriter(path) as writer:
            writer.write(chunk(0, 10))
            writer.write(chunk(10, 10))
            partial = [p for p in os.listdir(tmp_path) if p.startswith(f".{name}.partial-")]
            assert partial == [f".{name}.partial-{os.getpid()}"]
            raise interruption("model failed on chunk 3")
    assert os.listdir(tmp_path) == []


def test_failed_write_keeps_an_existing_output(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("old,content\n1,2\n")
    with pytest.raises(RuntimeError):
        with TableWriter(path) as writer:
            writer.write(chunk(0, 3))
            raise RuntimeError("stop")
    assert path.read_text() == "old,content\n1,2\n"
    with TableWriter(path) as writer:  # a clean run replaces it
        writer.write(chunk(0, 3))
    assert read_table(path)["id"].tolist() == [0, 1, 2]


def test_refused_outputs(tmp_path):
    with pytest.raises(DataError) as info:
        TableWriter(tmp_path / "out.fits")
    assert str(info.value) == (
        f"Cannot tell the format of output file {tmp_path / 'out.fits'} from its name; end it "
        "with one of .csv.gz, .csv, .parquet, .pq."
    )
    with pytest.raises(
        DataError, match=r"Unknown output format 'hdf5' .* allowed: 'csv', 'parquet'"
    ):
        TableWriter(tmp_path / "out.parquet", format="hdf5")
    with pytest.raises(DataError, match="is a directory"):
        with TableWriter(tmp_path, format="csv"):
            pass
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(DataError, match="Cannot create the output directory"):
        with TableWriter(blocker / "out.csv"):
            pass
    with pytest.raises(RuntimeError, match="use `with TableWriter"):
        TableWriter(tmp_path / "x.csv").write(chunk(0, 1))
    assert sorted(os.listdir(tmp_path)) == ["file"]
