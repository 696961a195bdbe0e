"""Models saved by the previous release load and predict exactly as they did then."""

from pathlib import Path

import keras
import numpy as np
import pytest

import likely

DATA = Path(__file__).parent.parent / "data" / "release-0.1.0"


@pytest.mark.parametrize("name", ["normal", "mixture", "ensemble", "vector", "train_run"])
def test_a_release_0_1_model_predicts_identically(name):
    model = keras.saving.load_model(DATA / f"{name}.keras")
    expected = np.load(DATA / f"{name}.npz")
    x = expected["x"] if "x" in expected else np.load(DATA / "x.npy")
    p = likely.predict_distribution(model, x)
    for key in ("mean", "std", "q90"):
        got = {"mean": p.mean, "std": p.stddev, "q90": p.quantile(0.9)}[key]
        np.testing.assert_allclose(got, expected[key], rtol=2e-6, atol=2e-6, err_msg=key)
    # The mode is an iterative search that stops once a step is below 1e-6 (1 + |x|);
    # on flat-topped mixtures float rounding can end it a few 1e-6 away.
    np.testing.assert_allclose(p.mode, expected["mode"], atol=2e-5)
    if name == "ensemble":
        assert p.num_members == 3
