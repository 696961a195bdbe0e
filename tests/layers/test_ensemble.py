import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

import likely
from likely.layers import EnsembleDense, IndependentNormal, MixtureNormal

pytestmark = pytest.mark.backends


def np_(x):
    return np.asarray(keras.ops.convert_to_numpy(x), dtype=float)


def relu(x):
    return np.maximum(x, 0.0)


@pytest.mark.parametrize("member_axis", [False, True])
@pytest.mark.parametrize("m", [3, 17])  # 3: one matmul per member on JAX; 17: the einsum
def test_matches_separate_dense_layers(member_axis, m):
    rng = np.random.default_rng(0)
    d_in, units = 4, 5
    layer = EnsembleDense(units, m, activation="relu", bias_initializer="random_normal")
    x = rng.normal(size=(7, m, d_in) if member_axis else (7, d_in)).astype("float32")
    y = np_(layer(x))
    assert y.shape == (7, m, units)
    assert layer.compute_output_shape(x.shape) == (7, m, units)
    kernel, bias = np_(layer.kernel), np_(layer.bias)
    assert kernel.shape == (m, d_in, units) and bias.shape == (m, units)
    for member in range(m):
        x_m = x[:, member] if member_axis else x
        np.testing.assert_allclose(
            y[:, member], relu(x_m @ kernel[member] + bias[member]), rtol=1e-5, atol=1e-6
        )


def test_members_get_their_own_glorot_initialization():
    m, d_in, units = 4, 64, 64
    layer = EnsembleDense(units, m)
    layer.build((None, d_in))
    kernel = np_(layer.kernel)
    glorot_std = np.sqrt(2.0 / (d_in + units))  # fans of ONE member, not scaled by M
    for member in range(m):
        assert abs(kernel[member].std() / glorot_std - 1) < 0.1
        for other in range(member):
            assert abs(np.corrcoef(kernel[member].ravel(), kernel[other].ravel())[0, 1]) < 0.1


def test_seeded_initializer_is_reproducible_and_distinct_per_member():
    def kernel(seed):
        layer = EnsembleDense(3, 5, kernel_initializer=keras.initializers.HeNormal(seed=seed))
        layer.build((None, 2))
        return np_(layer.kernel)

    a, b, c = kernel(1), kernel(1), kernel(2)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert len({member.tobytes() for member in a}) == 5


def test_ensemble_head_output_and_nll_averages_members():
    rng = np.random.default_rng(1)
    m, n = 4, 6
    x = rng.normal(size=(n, 3)).astype("float32")
    y = rng.normal(size=n).astype("float32")
    model = keras.Sequential(
        [
            keras.Input((3,)),
            EnsembleDense(IndependentNormal.params_size(1), m),
            IndependentNormal(1),
        ]
    )
    assert model.layers[-1].ensemble_size == m  # declared by the EnsembleDense
    params = model(x)
    assert np_(params).shape == (n, m, 2) and model.output_shape == (None, m, 2)
    raw = np_(model.layers[0](x))  # (n, M, 2): loc, unconstrained scale
    np.testing.assert_allclose(np_(params), raw, rtol=1e-6)
    loc, scale = raw[..., 0], np.logaddexp(0.0, raw[..., 1]) + 1e-3
    reference = -stats.norm(loc, scale).logpdf(y[:, None]).mean(axis=1)
    np.testing.assert_allclose(np_(likely.losses.nll(y, params)), reference, rtol=1e-4)
    # The predictive is the equal-weight mixture of the members.
    p = likely.predict_distribution(model, x)
    assert p.num_members == m
    mixture = logsumexp(stats.norm(loc, scale).logpdf(y[:, None]), axis=1) - np.log(m)
    np.testing.assert_allclose(p.log_prob(y), mixture, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(p.mean, loc.mean(axis=1), rtol=1e-5, atol=1e-6)


def test_mixture_head_per_member():
    m, k, e = 3, 2, 2
    model = keras.Sequential(
        [
            keras.Input((5,)),
            EnsembleDense(8, m, activation="tanh"),
            EnsembleDense(MixtureNormal.params_size(k, e), m),
            MixtureNormal(k, e),
        ]
    )
    x = np.random.default_rng(2).normal(size=(4, 5)).astype("float32")
    assert np_(model(x)).shape == (4, m, k * (1 + 2 * e)) == (4, *model.output_shape[1:])
    p = likely.predict_distribution(model, x)
    assert p.distribution.num_components == m * k and p.event_shape == (e,)


def test_members_train_independently():
    """Averaging member NLLs gives each member the gradient it would get alone, / M."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(64, 2)).astype("float32")
    y = (x[:, 0] - 0.5 * x[:, 1] + 0.1 * rng.normal(size=64)).astype("float32")
    m = 3
    ensemble = keras.Sequential(
        [
            keras.Input((2,)),
            EnsembleDense(8, m, activation="tanh"),
            EnsembleDense(2, m),
            IndependentNormal(1),
        ]
    )
    initial = [np_(w) for w in ensemble.get_weights()]
    ensemble.compile(optimizer=keras.optimizers.Adam(0.01), loss=likely.losses.nll)
    ensemble.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    final = [np_(w) for w in ensemble.get_weights()]
    member = 1
    single = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(8, activation="tanh"),
            keras.layers.Dense(2),
            IndependentNormal(1),
        ]
    )
    single.set_weights([w[member] for w in initial])

    def nll_over_m(y_true, y_pred):
        return likely.losses.nll(y_true, y_pred) / m

    single.compile(optimizer=keras.optimizers.Adam(0.01), loss=nll_over_m)
    single.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    for got, alone in zip([w[member] for w in final], single.get_weights(), strict=True):
        np.testing.assert_allclose(got, np_(alone), rtol=1e-4, atol=1e-5)
    assert not np.allclose(final[0][0], final[0][member])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"units": 0, "ensemble_size": 2}, ValueError, "units"),
        ({"units": 2, "ensemble_size": 0}, ValueError, "ensemble_size"),
        ({"units": 2, "ensemble_size": 1.5}, ValueError, "ensemble_size"),
    ],
)
def test_bad_arguments_raise(kwargs, error, match):
    with pytest.raises(error, match=match):
        EnsembleDense(**kwargs)


def test_wrong_member_axis_raises():
    with pytest.raises(ValueError, match=r"\(batch, 3, input_dim\)"):
        EnsembleDense(2, 3)(np.zeros((4, 5, 2), dtype="float32"))


def test_config_round_trip():
    layer = EnsembleDense(3, 4, activation="relu", use_bias=False, name="ens")
    clone = EnsembleDense.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    assert (clone.units, clone.ensemble_size, clone.use_bias) == (3, 4, False)


_LOAD_AND_PREDICT = """
import json, sys
import numpy as np
import keras
import likely
path, x_path, out_path = sys.argv[1:]
model = keras.saving.load_model(path)
np.save(out_path, model.predict(np.load(x_path), verbose=0))
"""


def test_keras_round_trip_in_fresh_process(tmp_path):
    model = likely.models.mlp(2, hidden=(8, 8), ensemble_size=3, head="mixture", num_components=2)
    model.compile(optimizer="adam", loss=likely.losses.nll)
    x = np.random.default_rng(4).normal(size=(5, 2)).astype("float32")
    path = tmp_path / "ensemble.keras"
    model.save(path)
    np.save(tmp_path / "x.npy", x)
    env = {**os.environ, "KERAS_BACKEND": keras.backend.backend(), "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = tmp_path / "out.npy"
    subprocess.run(
        [sys.executable, "-c", _LOAD_AND_PREDICT, str(path), str(tmp_path / "x.npy"), str(out)],
        check=True,
        env=env,
        timeout=300,
    )
    np.testing.assert_array_equal(np.load(out), model.predict(x, verbose=0))
    assert json.loads(json.dumps(model.get_config()))  # the config is plain JSON
