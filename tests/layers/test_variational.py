import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from scipy import stats

import likely
from likely.layers import DenseFlipout, DenseVariational, IndependentNormal

pytestmark = pytest.mark.backends

LAYERS = [DenseVariational, DenseFlipout]


def np_(x):
    return np.asarray(keras.ops.convert_to_numpy(x), dtype=float)


def randomize_posterior(layer, rng):
    """Moves every posterior (and prior) weight away from its initial value."""
    for weight in layer.weights:
        if weight.dtype.startswith("float"):
            name = weight.path.split("/")[-1]
            low, high = (-3.0, 0.5) if name.endswith("rho") else (-1.0, 1.0)
            weight.assign(rng.uniform(low, high, size=weight.shape).astype("float32"))


def reference_kl(layer):
    """KL(q || p) = cross-entropy H(q, p) - entropy H(q), with SciPy's normal entropy."""
    total = 0.0
    for name in ("kernel", "bias"):
        loc = np_(getattr(layer, f"{name}_loc"))
        scale = np.log1p(np.exp(np_(getattr(layer, f"{name}_rho")))) + 1e-6
        prior = getattr(layer, f"{name}_prior_loc")
        prior_loc = 0.0 if prior is None else np_(prior)
        s = layer.prior_scale
        cross_entropy = 0.5 * np.log(2 * np.pi * s**2) + (scale**2 + (loc - prior_loc) ** 2) / (
            2 * s**2
        )
        total += np.sum(cross_entropy - stats.norm(loc, scale).entropy())
    return total


@pytest.mark.parametrize("cls", LAYERS)
@pytest.mark.parametrize(("prior_scale", "trainable_prior"), [(1.0, False), (0.5, True)])
def test_kl_matches_closed_form_and_is_added_as_loss(cls, prior_scale, trainable_prior):
    layer = cls(3, n_train=50, prior_scale=prior_scale, trainable_prior=trainable_prior, seed=0)
    layer.build((None, 4))
    randomize_posterior(layer, np.random.default_rng(0))
    kl = float(np_(layer.kl_divergence()))
    np.testing.assert_allclose(kl, reference_kl(layer), rtol=1e-5)
    layer(np.ones((2, 4), dtype="float32"))
    (added,) = layer.losses
    np.testing.assert_allclose(float(np_(added)), kl / 50, rtol=1e-6)
    n_trainable = 4 * 3 + 3
    assert len(layer.trainable_weights) == (6 if trainable_prior else 4)
    assert sum(int(np.prod(w.shape)) for w in layer.trainable_weights) == n_trainable * (
        3 if trainable_prior else 2
    )


def test_kl_matches_a_monte_carlo_estimate():
    """E_q[log q(w) - log p(w)] with SciPy densities, over 20,000 posterior draws."""
    layer = DenseVariational(2, kl_weight=1.0, prior_scale=0.7, seed=0)
    layer.build((None, 3))
    randomize_posterior(layer, np.random.default_rng(1))
    rng = np.random.default_rng(2)
    estimate = 0.0
    for name in ("kernel", "bias"):
        loc = np_(getattr(layer, f"{name}_loc"))
        scale = np.log1p(np.exp(np_(getattr(layer, f"{name}_rho")))) + 1e-6
        w = loc + scale * rng.normal(size=(20_000, *loc.shape))
        log_ratio = stats.norm(loc, scale).logpdf(w) - stats.norm(0.0, 0.7).logpdf(w)
        estimate += log_ratio.reshape(20_000, -1).sum(axis=1).mean()
    np.testing.assert_allclose(float(np_(layer.kl_divergence())), estimate, rtol=0.05)


@pytest.mark.parametrize("cls", LAYERS)
def test_each_pass_is_a_posterior_sample(cls):
    """Outputs over many passes have the moments of x @ W + b, W ~ posterior."""
    layer = cls(2, kl_weight=0.0, seed=3)
    layer.build((None, 3))
    randomize_posterior(layer, np.random.default_rng(3))
    x = np.array([[0.5, -1.0, 2.0]], dtype="float32")
    draws = np.stack([np_(layer(x, training=False))[0] for _ in range(1500)])
    k_loc, b_loc = np_(layer.kernel_loc), np_(layer.bias_loc)
    k_scale, b_scale = np_(layer.kernel_scale), np_(layer.bias_scale)
    mean = x[0] @ k_loc + b_loc
    std = np.sqrt((x[0] ** 2) @ k_scale**2 + b_scale**2)
    z = (draws - mean) / std
    assert np.all(np.abs(z.mean(axis=0)) < 4 / np.sqrt(1500))
    assert np.all(np.abs(z.std(axis=0) - 1) < 0.08)
    assert stats.kstest(z[:, 0], "norm").pvalue > 1e-3


def test_flipout_decorrelates_examples_of_a_batch():
    x = np.ones((64, 16), dtype="float32")
    reparam = DenseVariational(2, kl_weight=0.0, posterior_scale_init=0.5, seed=0)
    flipout = DenseFlipout(2, kl_weight=0.0, posterior_scale_init=0.5, seed=0)
    same = np_(reparam(x))
    assert np.allclose(same, same[:1])  # one weight draw shared by the batch
    # Flipout: each row sees the shared perturbation with its own random signs
    # (2^17 sign patterns per output for 16 inputs), so identical rows differ.
    different = np_(flipout(x))
    assert np.unique(np.round(different[:, 0], 5)).size > 48


@pytest.mark.parametrize("cls", LAYERS)
def test_seeded_layers_are_reproducible(cls):
    x = np.ones((4, 3), dtype="float32")
    a = cls(2, kl_weight=0.0, seed=7, kernel_initializer=keras.initializers.Ones())
    b = cls(2, kl_weight=0.0, seed=7, kernel_initializer=keras.initializers.Ones())
    first, second = np_(a(x)), np_(a(x))
    assert not np.allclose(first, second)
    np.testing.assert_array_equal(np_(b(x)), first)


def test_kl_term_enters_the_training_loss():
    """Keras' loss = mean NLL + kl_weight * KL; a near-zero posterior scale fixes the NLL."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 2)).astype("float32")
    y = rng.normal(size=32).astype("float32")
    layer = DenseVariational(2, kl_weight=0.5, posterior_scale_init=1e-6, seed=0)
    model = keras.Sequential([keras.Input((2,)), layer, IndependentNormal(1)])
    model.compile(optimizer="sgd", loss=likely.losses.nll)
    loss = model.evaluate(x, y, batch_size=32, verbose=0)
    raw = x @ np_(layer.kernel_loc) + np_(layer.bias_loc)
    scale = np.log1p(np.exp(raw[:, 1])) + likely.distributions.DEFAULT_MIN_SCALE
    nll = -stats.norm(raw[:, 0], scale).logpdf(y).mean()
    np.testing.assert_allclose(loss, nll + 0.5 * reference_kl(layer), rtol=1e-4)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "pass `n_train`"),
        ({"n_train": 10, "kl_weight": 0.1}, "not both"),
        ({"n_train": 0}, "n_train"),
        ({"kl_weight": -1.0}, "kl_weight"),
        ({"n_train": 10, "prior_scale": 0.0}, "prior_scale"),
        ({"n_train": 10, "posterior_scale_init": -1.0}, "posterior_scale_init"),
        ({"kl_weight": 0.0, "units": 0}, "units"),
    ],
)
@pytest.mark.parametrize("cls", LAYERS)
def test_bad_arguments_raise(cls, kwargs, match):
    kwargs = {"units": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)


@pytest.mark.parametrize("cls", LAYERS)
def test_kl_weight_from_n_train_and_config(cls):
    layer = cls(3, n_train=200, activation="relu", trainable_prior=True, seed=4)
    assert layer.kl_weight == 1 / 200
    clone = cls.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


_LOAD_AND_PREDICT = """
import sys
import numpy as np
import keras
import likely
x = np.load(sys.argv[1])
for path in sys.argv[2:]:
    p = likely.predict_distribution(keras.saving.load_model(path), x, n_samples=6, seed=11)
    np.save(path + ".npy", np.stack([p.mean, p.variance, p.epistemic_variance]))
"""


def test_keras_round_trip_in_fresh_process(tmp_path):
    x = np.random.default_rng(5).normal(size=(8, 2)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    paths, expected = [], []
    models = {
        "reparameterization": likely.models.mlp(
            2, hidden=(6,), variational="reparameterization", n_train=100
        ),
        "flipout": keras.Sequential(
            [
                keras.Input((2,)),
                DenseFlipout(6, activation="tanh", n_train=100, trainable_prior=True),
                DenseFlipout(2, n_train=100, prior_scale=0.5),
                IndependentNormal(1),
            ]
        ),
    }
    for name, model in models.items():
        path = tmp_path / f"{name}.keras"
        model.save(path)
        paths.append(str(path))
        p = likely.predict_distribution(model, x, n_samples=6, seed=11)
        expected.append(np.stack([p.mean, p.variance, p.epistemic_variance]))
    env = {**os.environ, "KERAS_BACKEND": keras.backend.backend(), "TF_CPP_MIN_LOG_LEVEL": "3"}
    subprocess.run(
        [sys.executable, "-c", _LOAD_AND_PREDICT, str(tmp_path / "x.npy"), *paths],
        check=True,
        env=env,
        timeout=300,
    )
    for path, values in zip(paths, expected, strict=True):
        assert values[2].min() > 0  # the passes really differ
        np.testing.assert_array_equal(np.load(path + ".npy"), values)
