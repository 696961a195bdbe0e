import subprocess
import sys

import keras
import numpy as np
import pytest

from likely.datasets import dc2_path, load_dc2, photometry_features, read_dc2_hdf5
from likely.experiment import FeaturePipeline

pytestmark = pytest.mark.backends

BANDS = "ugrizy"
MAGS = [f"mag_{b}_lsst" for b in BANDS]
ERRS = [f"mag_err_{b}_lsst" for b in BANDS]


def dc2_layer():
    return FeaturePipeline(
        MAGS + ERRS,
        photometry={
            "magnitudes": MAGS,
            "errors": ERRS,
            "reference": 3,
            "nondetection_value": 99.0,
            "limits": {"mag_u_lsst": 26.620825, "mag_g_lsst": 28.322212},
        },
        target="redshift",
    )


def test_in_model_features_match_the_pandas_reference():
    raw = read_dc2_hdf5(dc2_path("train"))  # with the 99.0 non-detections
    layer = dc2_layer()
    got = keras.ops.convert_to_numpy(layer(raw[MAGS + ERRS].to_numpy("float32")))
    expected = photometry_features(load_dc2("train"))
    # Flags exist for the bands with non-detections only.
    expected = expected.drop(columns=["detected_r", "detected_i", "detected_z", "detected_y"])
    np.testing.assert_allclose(got, expected.to_numpy(), rtol=1e-5, atol=1e-5)
    assert layer.feature_names()[:3] == [
        "mag_i_lsst",
        "mag_u_lsst-mag_g_lsst",
        "mag_g_lsst-mag_r_lsst",
    ]
    assert not np.any(got >= 99.0)


def test_round_trip_in_fresh_process(tmp_path):
    model = keras.Sequential([keras.Input((12,)), dc2_layer(), keras.layers.Dense(2)])
    x = np.full((3, 12), 0.1, dtype="float32")
    x[:, :6] = 24.0
    x[0, 0] = 99.0
    expected = model.predict(x, verbose=0)
    model.save(tmp_path / "m.keras")
    np.save(tmp_path / "x.npy", x)
    code = (
        "import numpy as np, keras, likely;"
        f"m = keras.saving.load_model({str(tmp_path / 'm.keras')!r});"
        f"x = np.load({str(tmp_path / 'x.npy')!r});"
        f"np.save({str(tmp_path / 'y.npy')!r}, m.predict(x, verbose=0));"
        "assert m.layers[0].target == 'redshift'"
    )
    import os

    env = {**os.environ, "KERAS_BACKEND": keras.backend.backend()}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), expected)


def test_photometry_columns_must_come_first():
    with pytest.raises(ValueError, match="magnitude then error columns first"):
        FeaturePipeline(
            ["x"] + MAGS + ERRS,
            photometry={
                "magnitudes": MAGS,
                "errors": ERRS,
                "reference": 0,
                "nondetection_value": 99,
            },
        )


def test_nan_and_sentinel_non_detections_give_the_same_features():
    raw = read_dc2_hdf5(dc2_path("validation"))[MAGS + ERRS].to_numpy("float32")
    nan = raw.copy()
    for i in range(6):  # the Rubin convention: magnitude and error NaN
        missing = raw[:, i] >= 99.0
        nan[missing, i] = np.nan
        nan[missing, 6 + i] = np.nan
    assert np.isnan(nan).any()
    layer = dc2_layer()
    got = keras.ops.convert_to_numpy(layer(nan))
    np.testing.assert_array_equal(got, keras.ops.convert_to_numpy(layer(raw)))
    assert np.isfinite(got).all()


def eiv_layer(**photometry):
    spec = {
        "magnitudes": ["m_g", "m_r"],
        "errors": ["e_g", "e_r"],
        "reference": 1,
        "nondetection_value": 99.0,
        "limits": {"m_g": 27.0},
        **photometry,
    }
    return FeaturePipeline(["m_g", "m_r", "e_g", "e_r"], photometry=spec, seed=3)


def test_convolve_errors_draws_detected_magnitudes_from_their_errors():
    layer = eiv_layer(convolve_errors=True)
    x = np.tile(
        np.array([[23.0, 22.0, 0.2, 5.0], [np.nan, 22.0, np.nan, 0.05]], "float32"), (20000, 1)
    )
    drawn = keras.ops.convert_to_numpy(layer(x, training=True))
    again = keras.ops.convert_to_numpy(layer(x, training=True))
    assert not np.array_equal(drawn, again)  # new draws every step
    detected, missing = drawn[0::2], drawn[1::2]
    # r (reference): N(22, min(5, 2.5/ln 10)); g-r: difference of two independent draws.
    r_std = 2.5 / np.log(10.0)
    assert abs(detected[:, 0].mean() - 22.0) < 4 * r_std / np.sqrt(10000)
    assert detected[:, 0].std() == pytest.approx(r_std, rel=0.03)
    assert detected[:, 1].std() == pytest.approx(np.hypot(0.2, r_std), rel=0.03)
    # The non-detected g stays at its limit: g - r varies only through r.
    np.testing.assert_allclose(missing[:, 1] + missing[:, 0], 27.0, atol=1e-4)
    assert missing[:, 0].std() == pytest.approx(0.05, rel=0.03)
    # Error features and flags are the catalogue's.
    np.testing.assert_allclose(detected[:, 2:] - [0.2, r_std, 1.0], 0.0, atol=1e-6)
    np.testing.assert_allclose(missing[:, 2:] - [r_std, 0.05, 0.0], 0.0, atol=1e-6)
    # Inference without error_samples, and transform, use the catalogue magnitudes.
    clean = keras.ops.convert_to_numpy(layer(x[:2], training=False))
    np.testing.assert_allclose(clean, keras.ops.convert_to_numpy(layer.transform(x[:2])))
    np.testing.assert_allclose(clean[:, :2], [[22.0, 1.0], [22.0, 5.0]], rtol=1e-6)


def test_error_samples_make_the_model_stochastic_and_reproducible():
    import likely

    layer = eiv_layer(convolve_errors=True, error_samples=7)
    model = keras.Sequential(
        [keras.Input((4,)), layer, keras.layers.Dense(2), likely.layers.IndependentNormal(1)]
    )
    assert likely.models.is_stochastic(model)
    assert not likely.models.is_stochastic(
        keras.Sequential([keras.Input((4,)), eiv_layer(convolve_errors=True)])
    )
    x = np.array([[23.0, 22.0, 0.2, 0.3], [99.0, 22.0, 26.6, 0.05]], "float32")
    p = likely.predict_distribution(model, x, n_samples=7, seed=5)
    q = likely.predict_distribution(model, x, n_samples=7, seed=5)
    assert p.num_members == 7
    np.testing.assert_array_equal(p.mean, q.mean)
    assert (p.epistemic_variance > 0).all()


def test_error_sampling_options_are_checked():
    with pytest.raises(ValueError, match="error_samples"):
        eiv_layer(error_samples=-1)
    with pytest.raises(TypeError, match="convolve_errors"):
        eiv_layer(convolve_errors="yes")


def test_a_nan_sentinel_means_nan_only():
    layer = eiv_layer(nondetection_value=float("nan"))
    x = np.array([[np.nan, 24.0, np.nan, 0.1], [99.0, 24.0, 0.5, 0.1]], "float32")
    out = keras.ops.convert_to_numpy(layer(x))
    np.testing.assert_allclose(out[:, 1], [3.0, 75.0])  # 99 is a magnitude then
    np.testing.assert_allclose(out[:, -1], [0.0, 1.0])
