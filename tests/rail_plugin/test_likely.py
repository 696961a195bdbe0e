"""RAIL stages on the vendored DC2 files: discovery, likely's own run, RAIL's evaluation, qp files.

Tests of `rail.estimation.algos.likely` (this folder is not named `rail`: with `tests` on
sys.path it would join the `rail` namespace package).

The stages train a tiny network for a few epochs (the full-size comparison is
run by `examples/rail_dc2_pipeline.py`).
"""

import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

pytest.importorskip("rail.estimation.estimator")
qp = pytest.importorskip("qp")
tables_io = pytest.importorskip("tables_io")

import likely  # noqa: E402
from likely.datasets import dc2_path  # noqa: E402
from likely.errors import ConfigError  # noqa: E402
from rail.estimation.algos.likely import (  # noqa: E402
    LikelyEstimator,
    LikelyInformer,
    likely_config,
)

TINY = {
    "model": {"hidden": [32, 32], "num_components": 3, "ensemble_size": 1},
    "training": {"epochs": 3},
    # A stored recalibration that keeps a normal mixture (qp's mixmod); "auto" may
    # choose isotonic, whose PDFs the estimator stores on its grid instead.
    "evaluation": {"recalibrate": "scale"},
}
N_VALIDATION = 20_449


def test_rail_discovers_the_stages():
    import rail.stages

    rail.stages.import_and_attach_all(silent=True)
    assert rail.stages.LikelyInformer is LikelyInformer
    assert rail.stages.LikelyEstimator is LikelyEstimator


def test_options_map_onto_the_dc2_job():
    stage = LikelyInformer.make_stage(name="map_defaults", model="m.keras")
    config = likely_config(stage.config)
    job = likely.experiment.load_config(
        os.path.join(os.path.dirname(likely.experiment.__file__), "dc2_photoz.yaml")
    )
    assert config.data.photometry == job.data.photometry  # RAIL's defaults are DC2's columns
    assert config.model == job.model and config.training == job.training
    assert config.evaluation.recalibrate == job.evaluation.recalibrate
    assert config.data.target == "redshift" and not config.tracking.enabled
    other = LikelyInformer.make_stage(
        name="map_custom",
        model="m.keras",
        bands=["g_mag", "r_mag", "i_mag"],
        err_bands=["g_err", "r_err", "i_err"],
        ref_band="r_mag",
        nondetect_val=-99.0,
        mag_limits={"g_mag": 27.5, "y_mag": 26.0},
        redshift_col="z_spec",
        likely_config={"model": {"head": "normal"}, "data": {"filters": ["i_mag < 25"]}},
    )
    config = likely_config(other.config)
    p = config.data.photometry
    assert (p.bands, p.magnitude, p.error, p.reference_band) == (
        ["g", "r", "i"],
        "{band}_mag",
        "{band}_err",
        "r",
    )
    assert p.nondetection_value == -99.0 and p.limits == {"g": 27.5}
    assert config.model.head == "normal" and config.model.hidden == job.model.hidden
    assert config.data.filters == ["i_mag < 25"] and config.data.target == "z_spec"


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"likely_config": {"tracking": {"enabled": True}}}, "unknown sections"),
        ({"likely_config": {"evaluation": {"plots": True}}}, "only set recalibrate"),
        ({"likely_config": {"data": {"target": "z"}}}, "redshift_col"),
        ({"likely_config": {"model": {"head": "cauchy"}}}, "model.head"),
        ({"err_bands": ["e_u", "e_g"]}, "one column per band"),
        ({"bands": ["u", "g"], "err_bands": ["eg", "eu"]}, "band by band"),
        ({"ref_band": "mag_w_lsst"}, "ref_band"),
    ],
)
def test_bad_options_are_refused(options, fragment):
    stage = LikelyInformer.make_stage(name="bad_options", model="m.keras", **options)
    with pytest.raises(ConfigError, match=fragment):
        likely_config(stage.config)


def test_the_model_file_must_be_keras(tmp_path):
    informer = LikelyInformer.make_stage(name="pickled", model=str(tmp_path / "m.pkl"))
    informer.set_data("input", tables_io.read(str(dc2_path("train"))))
    with pytest.raises(ConfigError, match=r"\.keras"):
        informer.validate()


@pytest.fixture(scope="module")
def stages(tmp_path_factory):
    """Inform on the DC2 training file, estimate the validation file (both vendored)."""
    folder = tmp_path_factory.mktemp("rail")
    train = tables_io.read(str(dc2_path("train")))
    test = tables_io.read(str(dc2_path("validation")))
    informer = LikelyInformer.make_stage(
        name="inform_likely",
        model=str(folder / "likely_model.keras"),
        hdf5_groupname="photometry",
        id_col="id",
        likely_config=TINY,
    )
    informer.inform(train)
    estimator = LikelyEstimator.make_stage(
        name="estimate_likely",
        model=informer.get_handle("model"),
        hdf5_groupname="photometry",
        output=str(folder / "estimate.hdf5"),
    )
    ensemble = estimator.estimate(test).data
    return folder, informer, ensemble, np.asarray(test["photometry"]["redshift"], float)


@pytest.mark.slow
def test_stages_give_the_ensemble_of_likely_own_run(stages):
    folder, informer, ensemble, z = stages
    assert isinstance(ensemble, qp.Ensemble) and ensemble.npdf == N_VALIDATION
    assert ensemble.gen_class.name == "mixmod"
    assert zipfile.is_zipfile(folder / "likely_model.keras")  # Keras' format, not a pickle
    # likely's own pipeline (what `likely train` runs) on the same config and files.
    config = likely_config(informer.config, "id").model_copy(deep=True)
    config.data.train, config.data.test = "dc2:train", "dc2:validation"
    config.evaluation.kind, config.evaluation.plots = "photoz", False
    own = likely.experiment.train(config, folder / "own", progress=False).report
    predictive = likely.io.predictive_from_qp(ensemble)
    zmode = np.asarray(ensemble.ancil["zmode"]).ravel()
    assert likely.metrics.pit_ks(z, predictive) == pytest.approx(own["pit_ks"], abs=1e-6)
    assert likely.metrics.sigma_iqr(z, zmode) == pytest.approx(own["sigma_iqr_mode"], abs=1e-6)


@pytest.mark.slow
def test_rail_evaluation_agrees_with_likely_metrics(stages):
    from qp.metrics.concrete_metric_classes import CDELossMetric
    from qp.metrics.pit import PIT
    from qp.metrics.point_estimate_metric_classes import (
        PointBias,
        PointOutlierRate,
        PointSigmaIQR,
    )

    _, _, ensemble, z = stages
    predictive = likely.io.predictive_from_qp(ensemble)
    pit = PIT(ensemble, z)
    # qp evaluates the float32 mixture parameters as they are, likely in float64: 1e-7.
    np.testing.assert_allclose(pit.pit_samps, likely.metrics.pit(z, predictive), atol=1e-6)
    assert pit.evaluate_PIT_KS().statistic == pytest.approx(
        likely.metrics.pit_ks(z, predictive), abs=1e-6
    )
    assert pit.evaluate_PIT_CvM().statistic == pytest.approx(
        likely.metrics.pit_cvm(z, predictive), rel=1e-6
    )
    zmode = np.asarray(ensemble.ancil["zmode"]).ravel()
    assert PointSigmaIQR().evaluate(zmode, z) == pytest.approx(likely.metrics.sigma_iqr(z, zmode))
    assert PointBias().evaluate(zmode, z) == pytest.approx(likely.metrics.bias(z, zmode))
    assert PointOutlierRate().evaluate(zmode, z) == pytest.approx(
        likely.metrics.outlier_rate(z, zmode)
    )
    # CDE loss: qp takes the density at the grid node nearest the truth; likely at the
    # truth itself. With the truth moved to its nearest node they agree to rounding (qp
    # evaluates the float32 parameters as they are).
    grid = likely.metrics.DEFAULT_Z_GRID
    rail_cde = CDELossMetric(eval_grid=grid).evaluate(ensemble, z)
    nearest = grid[np.abs(grid[None, :] - z[:, None]).argmin(axis=1)]
    assert rail_cde == pytest.approx(likely.metrics.cde_loss(nearest, predictive), abs=1e-7)
    assert abs(rail_cde - likely.metrics.cde_loss(z, predictive)) < 0.02


@pytest.mark.slow
def test_likely_predict_qp_file_is_the_stage_ensemble(stages):
    folder, _, ensemble, z = stages
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "likely",
            "predict",
            "likely_model.keras",
            str(dc2_path("validation")),
            "-o",
            "photoz.hdf5",
            "--output-format",
            "qp",
            "--chunk-rows",
            "7000",
        ],
        capture_output=True,
        text=True,
        cwd=folder,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    written = qp.read(str(folder / "photoz.hdf5"))
    assert written.gen_class.name == "mixmod" and written.npdf == N_VALIDATION
    np.testing.assert_allclose(written.cdf(z[:, None]), ensemble.cdf(z[:, None]), atol=1e-4)
    tests = tables_io.read(str(dc2_path("validation")))["photometry"]
    np.testing.assert_array_equal(written.ancil["id"], tests["id"])
    np.testing.assert_allclose(written.ancil["zmode"], np.ravel(ensemble.ancil["zmode"]), atol=1e-5)


@pytest.mark.slow
def test_interp_representation_from_the_model_file(stages):
    folder, _, reference, _ = stages
    test = tables_io.read(str(dc2_path("validation")))["photometry"]
    subset = {"photometry": {k: np.asarray(v)[:300] for k, v in test.items()}}
    estimator = LikelyEstimator.make_stage(  # the model read back from its .keras file
        name="estimate_interp",
        model=str(folder / "likely_model.keras"),
        hdf5_groupname="photometry",
        qp_representation="interp",
        zmin=0.0,
        zmax=3.0,
        nzbins=61,
        output_mode="return",
    )
    ensemble = estimator.estimate(subset).data
    assert ensemble.gen_class.name == "interp" and ensemble.npdf == 300
    grid = np.linspace(0, 3, 61)
    np.testing.assert_allclose(np.ravel(ensemble.metadata["xvals"]), grid)
    expected = reference[:300].pdf(grid)
    expected /= np.trapezoid(expected, grid, axis=1)[:, None]  # qp normalizes on the grid
    np.testing.assert_allclose(ensemble.pdf(grid), expected, rtol=1e-4, atol=1e-5)


def test_estimator_stores_other_families_on_its_grid(tmp_path):
    columns = ["mag_i_lsst", "mag_r_lsst"]
    model = likely.models.mlp(
        2,
        hidden=(8,),
        head="lognormal",
        seed=0,
        normalizer=likely.experiment.FeaturePipeline(columns),
    )
    model.save(tmp_path / "lognormal.keras")
    test = tables_io.read(str(dc2_path("validation")))["photometry"]
    subset = {"photometry": {k: np.asarray(v)[:200] for k, v in test.items()}}
    estimator = LikelyEstimator.make_stage(
        name="estimate_lognormal",
        model=str(tmp_path / "lognormal.keras"),
        hdf5_groupname="photometry",
        nzbins=121,
        output_mode="return",
    )
    ensemble = estimator.estimate(subset).data
    assert ensemble.gen_class.name == "interp" and ensemble.npdf == 200
    predictive = likely.predict_distribution(
        model, np.stack([subset["photometry"][c] for c in columns], axis=1).astype("float32")
    )
    grid = np.linspace(0.0, 3.0, 121)
    expected = predictive.pdf_grid(grid)
    expected /= np.trapezoid(expected, grid, axis=1)[:, None]
    np.testing.assert_allclose(ensemble.pdf(grid), expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(np.ravel(ensemble.ancil["zmode"]), predictive.mode, rtol=1e-5)
