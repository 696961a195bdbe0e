import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from scipy import stats

import likely
from likely.layers import IndependentNormal, MCDropout

pytestmark = pytest.mark.backends


def np_(x):
    return np.asarray(keras.ops.convert_to_numpy(x), dtype=float)


@pytest.mark.parametrize("training", [False, True, None])
def test_active_in_every_pass(training):
    rate = 0.3
    layer = MCDropout(rate, seed=0)
    y = np_(layer(np.ones((50, 200), dtype="float32"), training=training))
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / (1 - rate), rtol=1e-6)
    # 10,000 Bernoulli(0.7) draws: the kept fraction is within 4 sigma of 0.7.
    assert stats.binomtest(int(kept.sum()), kept.size, 1 - rate).pvalue > 1e-4


def test_passes_differ_and_seeds_reproduce():
    x = np.ones((4, 32), dtype="float32")
    a, b = MCDropout(0.5, seed=3), MCDropout(0.5, seed=3)
    first, second = np_(a(x)), np_(a(x))
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(np_(b(x)), first)


def test_noise_shape_shares_the_mask():
    y = np_(MCDropout(0.5, noise_shape=(None, 1), seed=1)(np.ones((64, 8), dtype="float32")))
    assert np.all((y == 0).all(axis=1) | (y != 0).all(axis=1))
    assert 0 < (y[:, 0] == 0).sum() < 64


def test_zero_rate_is_identity():
    x = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    np.testing.assert_array_equal(np_(MCDropout(0.0)(x)), x)


@pytest.mark.parametrize("rate", [-0.1, 1.0, "0.5", True])
def test_bad_rate_raises(rate):
    with pytest.raises(ValueError, match="rate"):
        MCDropout(rate)


def test_bad_seed_raises():
    with pytest.raises(TypeError, match="seed"):
        MCDropout(0.1, seed=1.5)


def test_config_round_trip():
    layer = MCDropout(0.2, noise_shape=(None, 1), seed=5, name="mc")
    clone = MCDropout.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


def test_predictive_over_dropout_passes():
    """S passes through MC dropout: the predictive is the mixture of the S heads."""
    keras.utils.set_random_seed(0)  # unseeded, a row can have every ReLU unit at zero
    model = keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(32, activation="relu"),
            MCDropout(0.5, seed=0),
            keras.layers.Dense(IndependentNormal.params_size(1)),
            IndependentNormal(1),
        ]
    )
    x = np.random.default_rng(1).normal(size=(10, 3)).astype("float32")
    p = likely.predict_distribution(model, x, n_samples=40, seed=2)
    assert p.num_members == 40 and p.distribution.num_components == 40
    assert np.all(p.epistemic_variance > 0)
    again = likely.predict_distribution(model, x, n_samples=40, seed=2)
    np.testing.assert_array_equal(again.mean, p.mean)


_LOAD_AND_PREDICT = """
import sys
import numpy as np
import keras
import likely
path, x_path, out_path = sys.argv[1:]
p = likely.predict_distribution(
    keras.saving.load_model(path), np.load(x_path), n_samples=7, seed=5)
np.save(out_path, np.stack([p.mean, p.variance, p.epistemic_variance]))
"""


def test_keras_round_trip_in_fresh_process(tmp_path):
    model = likely.models.mlp(2, hidden=(8, 8), dropout=0.2)
    x = np.random.default_rng(4).normal(size=(6, 2)).astype("float32")
    path, x_path, out = tmp_path / "dropout.keras", tmp_path / "x.npy", tmp_path / "out.npy"
    model.save(path)
    np.save(x_path, x)
    env = {**os.environ, "KERAS_BACKEND": keras.backend.backend(), "TF_CPP_MIN_LOG_LEVEL": "3"}
    subprocess.run(
        [sys.executable, "-c", _LOAD_AND_PREDICT, str(path), str(x_path), str(out)],
        check=True,
        env=env,
        timeout=300,
    )
    p = likely.predict_distribution(model, x, n_samples=7, seed=5)
    assert p.epistemic_variance.min() > 0
    np.testing.assert_array_equal(
        np.load(out), np.stack([p.mean, p.variance, p.epistemic_variance])
    )
