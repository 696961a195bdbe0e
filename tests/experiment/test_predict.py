"""predict_table: tables and qp files chunk by chunk, flagged rows, errors, no partial output."""

import numpy as np
import pandas as pd
import pytest

import likely
from likely.errors import DataError
from likely.experiment import FeaturePipeline, predict_frame, predict_table, summarize

COLUMNS = ["a", "b"]


@pytest.fixture(scope="module")
def model():
    net = likely.models.mlp(
        2,
        hidden=(8,),
        head="mixture",
        num_components=3,
        normalizer=FeaturePipeline(COLUMNS),
        seed=0,
    )
    # Untrained but with distinct components: the summaries differ per row.
    return net


@pytest.fixture
def table(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"obj": np.arange(250) + 7, "a": rng.normal(size=250), "b": rng.normal(size=250)}
    )
    path = tmp_path / "in.parquet"
    frame.to_parquet(path)
    return frame, path


def in_memory(model, frame):
    return likely.predict_distribution(model, frame[COLUMNS].to_numpy("float32"))


@pytest.mark.parametrize("name", ["out.parquet", "out.csv"])
def test_chunked_tables_equal_the_whole_table_at_once(model, table, tmp_path, name):
    frame, path = table
    rows = predict_table(model, path, tmp_path / name, COLUMNS, id_column="obj", chunk_rows=60)
    assert rows == 250
    out = likely.io.read_table(tmp_path / name)
    expected = summarize(in_memory(model, frame))
    np.testing.assert_array_equal(out["obj"], frame["obj"])
    assert list(out.columns) == ["obj", *expected.columns]
    np.testing.assert_allclose(out[expected.columns], expected, rtol=1e-5, atol=1e-6)


def test_qp_output_is_the_ensemble_of_the_whole_table(model, table, tmp_path):
    qp = pytest.importorskip("qp")
    frame, path = table
    out = tmp_path / "photoz.hdf5"
    predict_table(model, path, out, COLUMNS, id_column="obj", chunk_rows=60, output_format="qp")
    ensemble = qp.read(str(out))
    predictive = in_memory(model, frame)
    reference = likely.io.to_qp_ensemble(predictive)
    y = np.linspace(-2, 2, 250)[:, None]
    assert ensemble.gen_class.name == "mixmod" and ensemble.npdf == 250
    np.testing.assert_allclose(ensemble.cdf(y), reference.cdf(y), atol=1e-6)
    np.testing.assert_array_equal(ensemble.ancil["id"], frame["obj"])
    np.testing.assert_allclose(ensemble.ancil["zmode"], predictive.mode, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ensemble.ancil["zmean"], predictive.mean, rtol=1e-5, atol=1e-6)
    grid = np.linspace(-3, 3, 13)
    predict_table(model, path, out, COLUMNS, pdf_grid=grid, output_format="qp")
    gridded = qp.read(str(out))
    assert gridded.gen_class.name == "interp" and "id" not in gridded.ancil
    np.testing.assert_allclose(np.ravel(gridded.metadata["xvals"]), grid)


@pytest.mark.parametrize("output", ["out.parquet", "out.hdf5"])
def test_flagged_rows_get_empty_predictions(model, table, tmp_path, output):
    frame, path = table
    bad = frame.copy()
    bad.loc[[3, 100], "a"] = np.nan
    bad.loc[101, "b"] = np.inf
    bad.loc[120:179, "a"] = np.nan  # rows 120-179: the whole third chunk
    bad.to_parquet(path)
    fmt = "qp" if output.endswith("hdf5") else None
    rows = predict_table(
        model,
        path,
        tmp_path / output,
        COLUMNS,
        id_column="obj",
        chunk_rows=60,
        invalid_values="flag",
        output_format=fmt,
    )
    assert rows == 250
    flagged = np.zeros(250, bool)
    flagged[[3, 100, 101, *range(120, 180)]] = True
    good = ~flagged
    expected = in_memory(model, frame[good])
    if fmt is None:
        out = pd.read_parquet(tmp_path / output)
        np.testing.assert_array_equal(out["invalid_input"], flagged)
        assert out.loc[flagged, "mean":"q0.95"].isna().all().all()
        np.testing.assert_allclose(out.loc[good, "mean"], expected.mean, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(out["obj"], frame["obj"])
    else:
        qp = pytest.importorskip("qp")
        with pytest.warns(RuntimeWarning):  # qp warns of the NaN rows
            ensemble = qp.read(str(tmp_path / output))
        np.testing.assert_array_equal(ensemble.ancil["invalid_input"], flagged)
        assert np.isnan(ensemble.objdata["means"][flagged]).all()
        np.testing.assert_allclose(
            ensemble.ancil["zmean"][good], expected.mean, rtol=1e-5, atol=1e-6
        )
        with pytest.raises(DataError, match="63 of the 250 mixmod PDFs"):
            likely.io.read_qp(tmp_path / output)


def test_drop_leaves_rows_out_and_error_names_them(model, table, tmp_path):
    frame, path = table
    bad = frame.copy()
    bad.loc[[5, 200], "b"] = np.nan
    bad.to_parquet(path)
    rows = predict_table(
        model,
        path,
        tmp_path / "d.parquet",
        COLUMNS,
        id_column="obj",
        chunk_rows=60,
        invalid_values="drop",
    )
    assert rows == 248
    assert not {12, 207} & set(pd.read_parquet(tmp_path / "d.parquet")["obj"])
    with pytest.raises(DataError, match=r"'b' 1 row\); first rows: 5\."):
        predict_table(model, path, tmp_path / "e.parquet", COLUMNS, chunk_rows=100)
    assert not (tmp_path / "e.parquet").exists()
    assert not [p for p in tmp_path.iterdir() if "partial" in p.name]


def test_a_bad_value_in_a_late_chunk_leaves_no_output(model, table, tmp_path):
    frame, _ = table
    text = frame.astype({"a": object})
    text.loc[230, "a"] = "n/a?"
    text.to_csv(tmp_path / "in.csv", index=False)
    with pytest.raises(DataError, match="Non-numeric feature column .*'a'"):
        predict_table(
            model,
            tmp_path / "in.csv",
            tmp_path / "o.hdf5",
            COLUMNS,
            chunk_rows=50,
            output_format="qp",
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "in.parquet"]


@pytest.mark.parametrize(
    ("name", "fmt", "fragment"),
    [
        ("o.hdf5", None, "--output-format qp"),
        ("o.parquet", "qp", r"\*.hdf5"),
        ("o.parquet", "feather", "Unknown output format"),
    ],
)
def test_output_formats_are_never_guessed(model, table, tmp_path, name, fmt, fragment):
    _, path = table
    with pytest.raises(DataError, match=fragment):
        predict_table(model, path, tmp_path / name, COLUMNS, output_format=fmt)


def test_mixture_parameters_are_for_tables(model, table, tmp_path):
    _, path = table
    with pytest.raises(DataError, match="drop --mixture-parameters"):
        predict_table(
            model, path, tmp_path / "o.hdf5", COLUMNS, output_format="qp", mixture_parameters=True
        )


def test_predict_frame_checks_the_model_columns(model, table):
    frame, _ = table
    p = predict_frame(model, {c: frame[c].to_numpy() for c in ["obj", *COLUMNS]})
    np.testing.assert_allclose(p.mean, in_memory(model, frame).mean, rtol=1e-6)
    with pytest.raises(DataError, match=r"lacks the model's input columns \['b'\]"):
        predict_frame(model, {"a": frame["a"].to_numpy()})
    with pytest.raises(DataError, match="NaN or infinite"):
        predict_frame(model, {"a": [np.nan], "b": [0.0]})


def test_qp_output_of_another_family_needs_a_grid(table, tmp_path):
    qp = pytest.importorskip("qp")
    _, path = table
    student = likely.models.mlp(
        2, hidden=(8,), head="student_t", normalizer=FeaturePipeline(COLUMNS), seed=0
    )
    with pytest.raises(DataError, match="StudentT predictive is not a normal mixture.*--pdf-grid"):
        predict_table(student, path, tmp_path / "t.hdf5", COLUMNS, output_format="qp")
    assert not (tmp_path / "t.hdf5").exists()
    grid = np.linspace(-20, 20, 401)
    predict_table(student, path, tmp_path / "t.hdf5", COLUMNS, output_format="qp", pdf_grid=grid)
    ensemble = qp.read(str(tmp_path / "t.hdf5"))
    frame = pd.read_parquet(path)
    reference = likely.predict_distribution(student, frame[COLUMNS].to_numpy("float32"))
    y = frame["a"].to_numpy()[:, None]
    assert ensemble.gen_class.name == "interp"
    in_memory_ensemble = likely.io.to_qp_ensemble(reference, grid)
    np.testing.assert_allclose(ensemble.cdf(y), in_memory_ensemble.cdf(y), atol=1e-6)
