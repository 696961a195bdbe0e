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
    assert layer.feature_names()[:3] == ["mag_i_lsst", "mag_u_lsst-mag_g_lsst",
                                         "mag_g_lsst-mag_r_lsst"]
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
        f"np.save({str(tmp_path / 'y.npy')!r}, m.predict(np.load({str(tmp_path / 'x.npy')!r}), verbose=0));"
        "assert m.layers[0].target == 'redshift'"
    )
    import os

    env = {**os.environ, "KERAS_BACKEND": keras.backend.backend()}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), expected)


def test_photometry_columns_must_come_first():
    with pytest.raises(ValueError, match="magnitude then error columns first"):
        FeaturePipeline(["x"] + MAGS + ERRS, photometry={"magnitudes": MAGS, "errors": ERRS,
                                                         "reference": 0, "nondetection_value": 99})
