"""qp files: likely's predictives to qp parameters and files, and back, checked against qp."""

import numpy as np
import pytest
from scipy import stats

import likely
from likely.errors import DataError
from likely.io import (
    GriddedPredictive,
    QpParameters,
    QpWriter,
    is_qp_file,
    predictive_from_qp,
    qp_parameters,
    read_qp,
    to_qp_ensemble,
)

qp = pytest.importorskip("qp")


@pytest.fixture
def mixture():
    rng = np.random.default_rng(0)
    n = 50
    weights = rng.dirichlet([1.0, 1.0], size=n)
    loc = rng.uniform(0.2, 2.5, (n, 2))
    scale = rng.uniform(0.05, 0.3, (n, 2))
    predictive = likely.Predictive(likely.distributions.MixtureNormal(np.log(weights), loc, scale))
    return weights, loc, scale, predictive


def test_normal_mixtures_become_mixmod_exactly(mixture):
    weights, loc, scale, predictive = mixture
    parameters = qp_parameters(predictive)
    assert parameters.name == "mixmod" and len(parameters) == 50
    np.testing.assert_allclose(parameters.data["weights"], weights, rtol=1e-6)
    np.testing.assert_allclose(parameters.data["means"], loc, rtol=1e-6)
    np.testing.assert_allclose(parameters.data["stds"], scale, rtol=1e-6)
    z = np.linspace(0.0, 3.0, 50)
    ensemble = to_qp_ensemble(predictive)
    expected = np.sum(weights * stats.norm.cdf(z[:, None], loc, scale), axis=1)
    np.testing.assert_allclose(ensemble.cdf(z[:, None])[:, 0], expected, atol=1e-6)


def test_a_normal_is_a_one_component_mixmod():
    predictive = likely.Predictive(likely.distributions.Normal(np.zeros(3), np.full(3, 2.0)))
    parameters = qp_parameters(predictive)
    assert parameters.data["weights"].shape == (3, 1)
    ensemble = to_qp_ensemble(predictive)
    np.testing.assert_allclose(ensemble.cdf(np.full((3, 1), 2.0))[:, 0], stats.norm.cdf(1.0))


def test_a_grid_gives_interp_and_other_predictives_need_one(mixture):
    *_, predictive = mixture
    grid = np.linspace(0.0, 3.0, 31)
    parameters = qp_parameters(predictive, grid)
    assert parameters.name == "interp" and parameters.data["yvals"].shape == (50, 31)
    np.testing.assert_allclose(parameters.meta["xvals"], grid)
    z = predictive.sample(1, seed=0)[0]
    recalibrated = (
        likely.calibration.IsotonicRecalibrator().fit(predictive, z).transform(predictive)
    )
    with pytest.raises(ValueError, match="pass `grid`"):
        qp_parameters(recalibrated)
    assert qp_parameters(recalibrated, grid).name == "interp"


def test_vector_events_are_refused():
    d = likely.distributions.MixtureNormal(
        np.zeros((2, 1)), np.zeros((2, 1, 2)), np.ones((2, 1, 2))
    )
    with pytest.raises(ValueError, match="scalar"):
        qp_parameters(likely.Predictive(d))


def test_chunked_file_round_trips_through_qp_read(mixture, tmp_path):
    *_, predictive = mixture
    path = tmp_path / "photoz.hdf5"
    parameters = qp_parameters(predictive)
    ids = np.arange(50) + 1000
    with QpWriter(path) as writer:
        for rows in (slice(0, 20), slice(20, 50)):
            part = QpParameters("mixmod", {k: v[rows] for k, v in parameters.data.items()})
            writer.write(
                part,
                {"id": ids[rows], "zmode": predictive.mode[rows], "flag": np.zeros(50, bool)[rows]},
            )
    assert writer.rows_written == 50 and is_qp_file(path)
    ensemble = qp.read(str(path))
    assert ensemble.gen_class.name == "mixmod" and ensemble.npdf == 50
    np.testing.assert_array_equal(ensemble.ancil["id"], ids)
    z = np.linspace(0.0, 3.0, 50)[:, None]
    np.testing.assert_allclose(ensemble.cdf(z), to_qp_ensemble(predictive).cdf(z), atol=1e-12)
    back, ancil = read_qp(path)
    np.testing.assert_allclose(back.cdf(z[:, 0]), predictive.cdf(z[:, 0]), atol=1e-6)
    assert set(ancil) == {"id", "zmode", "flag"} and ancil["flag"].dtype == bool


def test_interp_file_becomes_a_gridded_predictive(mixture, tmp_path):
    *_, predictive = mixture
    grid = np.linspace(0.0, 3.0, 301)
    path = tmp_path / "fzb.hdf5"
    to_qp_ensemble(predictive, grid).write_to(str(path))  # as RAIL's FlexZBoost writes
    back, ancil = read_qp(path)
    assert isinstance(back, GriddedPredictive) and ancil == {}
    np.testing.assert_allclose(back.grid, grid)
    # qp normalizes each row on the grid: the mass outside [0, 3] is put back inside.
    table = predictive.pdf_grid(grid)
    table = table / np.trapezoid(table, grid, axis=1)[:, None]
    np.testing.assert_allclose(back.pdf_grid(grid), table, rtol=1e-5, atol=1e-7)


def test_norm_ensembles_of_random_gauss_are_read():
    ensemble = qp.Ensemble(
        qp.stats.norm, data=dict(loc=np.array([[0.5], [1.0]]), scale=np.array([[0.1], [0.2]]))
    )
    predictive = predictive_from_qp(ensemble)
    np.testing.assert_allclose(
        predictive.cdf(np.array([0.6, 1.0])), [stats.norm.cdf(1.0), 0.5], rtol=1e-6
    )


def test_unsupported_and_empty_predictions_are_refused(tmp_path):
    hist = qp.Ensemble(qp.hist, data=dict(bins=np.linspace(0, 1, 4), pdfs=np.ones((2, 3))))
    with pytest.raises(DataError, match="'hist' is not supported.*convert_to"):
        predictive_from_qp(hist)
    with pytest.warns(RuntimeWarning, match="non-finite"):  # qp's own warning
        nan = qp.Ensemble(
            qp.mixmod,
            data=dict(
                weights=np.array([[1.0], [np.nan]]),
                means=np.array([[0.0], [np.nan]]),
                stds=np.array([[1.0], [np.nan]]),
            ),
        )
    with pytest.raises(DataError, match="1 of the 2 mixmod PDFs .* first rows: 1"):
        predictive_from_qp(nan)
    (tmp_path / "x.hdf5").write_bytes(b"not hdf5")
    assert not is_qp_file(tmp_path / "x.hdf5")
    with pytest.raises(DataError, match="Cannot read .* as a qp file"):
        read_qp(tmp_path / "x.hdf5")


def test_writer_is_atomic_and_checks_its_chunks(mixture, tmp_path):
    *_, predictive = mixture
    parameters = qp_parameters(predictive)
    path = tmp_path / "out.hdf5"
    with pytest.raises(RuntimeError, match="boom"), QpWriter(path) as writer:
        writer.write(parameters)
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="first chunk's qp parameterization"), QpWriter(path) as w:
        w.write(parameters)
        w.write(qp_parameters(predictive, np.linspace(0, 3, 5)))
    with pytest.raises(ValueError, match="ancil"), QpWriter(path) as w:
        w.write(parameters, {"zmode": predictive.mode})
        w.write(parameters)
    with pytest.raises(ValueError, match="Nothing was written"), QpWriter(path):
        pass
    with pytest.raises(ValueError, match="needs 50 rows"), QpWriter(path) as w:
        w.write(parameters, {"id": np.arange(3)})
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(DataError, match=r"\*.hdf5"):
        QpWriter(tmp_path / "out.parquet")


def test_other_families_are_stored_on_a_grid():
    d = likely.distributions.StudentT(np.zeros(4), np.ones(4), np.full(4, 3.0))
    predictive = likely.Predictive(d)
    with pytest.raises(ValueError, match="StudentT predictive is not a normal mixture"):
        qp_parameters(predictive)
    grid = np.linspace(-30.0, 30.0, 6001)
    ensemble = to_qp_ensemble(predictive, grid)
    assert ensemble.gen_class.name == "interp"
    x = np.array([-2.0, -0.5, 0.0, 1.5])
    np.testing.assert_allclose(ensemble.cdf(x[:, None])[:, 0], stats.t.cdf(x, 3.0), atol=1e-4)
