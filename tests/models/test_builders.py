import keras
import numpy as np
import pytest

import likely
from likely.layers import (
    DenseFlipout,
    DenseVariational,
    EnsembleDense,
    IndependentNormal,
    MCDropout,
    MixtureNormal,
)


def np_(x):
    return np.asarray(keras.ops.convert_to_numpy(x), dtype=float)


def dense_params(widths):
    return sum((a + 1) * b for a, b in zip(widths[:-1], widths[1:], strict=True))


def test_plain_mlp_structure_and_parameter_count():
    model = likely.models.mlp(3, hidden=(16, 8))
    assert [type(layer) for layer in model.layers] == [
        keras.layers.Dense,
        keras.layers.Dense,
        keras.layers.Dense,
        IndependentNormal,
    ]
    assert model.layers[0].activation is keras.activations.relu
    assert model.output_shape == (None, 2)
    assert model.count_params() == dense_params([3, 16, 8, 2])
    assert not likely.models.is_stochastic(model)


def test_mixture_head_and_vector_events():
    model = likely.models.mlp(4, hidden=(8,), head="mixture", num_components=5, event_size=2)
    assert isinstance(model.layers[-1], MixtureNormal)
    assert model.output_shape == (None, 25)
    assert model.layers[-2].units == MixtureNormal.params_size(5, 2)


def test_ensemble_is_one_model_with_member_axis():
    m = 4
    model = likely.models.mlp(3, hidden=(16, 8), ensemble_size=m, head="mixture", num_components=2)
    assert all(isinstance(layer, EnsembleDense) for layer in model.layers[:-1])
    assert model.output_shape == (None, m, 6)
    assert model.layers[-1].ensemble_size == m
    assert model.count_params() == m * dense_params([3, 16, 8, MixtureNormal.params_size(2, 1)])
    x = np.random.default_rng(0).normal(size=(6, 3)).astype("float32")
    assert model.predict(x, verbose=0).shape == (6, m, 6)


@pytest.mark.parametrize(
    ("variational", "cls"), [("reparameterization", DenseVariational), ("flipout", DenseFlipout)]
)
def test_variational_layers_and_kl_weight(variational, cls):
    model = likely.models.mlp(2, hidden=(8,), variational=variational, n_train=250)
    layers = [layer for layer in model.layers if isinstance(layer, cls)]
    assert len(layers) == 2 and all(layer.kl_weight == 1 / 250 for layer in layers)
    assert likely.models.is_stochastic(model)
    model(np.ones((3, 2), dtype="float32"))
    total = sum(float(np_(layer.kl_divergence())) for layer in layers) / 250
    np.testing.assert_allclose(sum(float(np_(loss)) for loss in model.losses), total, rtol=1e-5)
    explicit = likely.models.mlp(2, hidden=(8,), variational=variational, kl_weight=0.5)
    assert explicit.layers[0].kl_weight == 0.5


def test_mc_dropout_after_each_hidden_layer():
    model = likely.models.mlp(2, hidden=(8, 8), dropout=0.25)
    kinds = [type(layer) for layer in model.layers]
    assert kinds == [keras.layers.Dense, MCDropout] * 2 + [keras.layers.Dense, IndependentNormal]
    assert all(layer.rate == 0.25 for layer in model.layers if isinstance(layer, MCDropout))
    assert likely.models.is_stochastic(model)


def test_linear_model_without_hidden_layers():
    model = likely.models.mlp(1, hidden=(), variational="reparameterization", n_train=10)
    assert [type(layer) for layer in model.layers] == [DenseVariational, IndependentNormal]


def test_min_scale_reaches_the_head():
    model = likely.models.mlp(1, hidden=(4,), head="mixture", num_components=3, min_scale=0.01)
    assert model.layers[-1].min_scale == 0.01


@pytest.mark.parametrize(
    "kwargs", [{}, {"ensemble_size": 3}, {"variational": "flipout", "n_train": 9}, {"dropout": 0.1}]
)
def test_same_seed_builds_the_same_model(kwargs):
    a = likely.models.mlp(2, hidden=(8,), seed=3, **kwargs)
    b = likely.models.mlp(2, hidden=(8,), seed=3, **kwargs)
    c = likely.models.mlp(2, hidden=(8,), seed=4, **kwargs)
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert not np.allclose(a.get_weights()[0], c.get_weights()[0])
    if likely.models.is_stochastic(a):
        x = np.ones((4, 2), dtype="float32")
        np.testing.assert_array_equal(a.predict_on_batch(x), b.predict_on_batch(x))


def test_layers_of_one_model_get_distinct_seeds():
    model = likely.models.mlp(8, hidden=(8, 8), seed=0)
    first, second = model.layers[0].get_weights()[0], model.layers[1].get_weights()[0]
    assert not np.allclose(first, second)


def test_normalizer_is_applied_first():
    rng = np.random.default_rng(1)
    x = rng.normal(loc=5.0, scale=3.0, size=(200, 2)).astype("float32")
    normalizer = keras.layers.Normalization()
    normalizer.adapt(x)
    model = likely.models.mlp(2, hidden=(4,), normalizer=normalizer, seed=0)
    plain = likely.models.mlp(2, hidden=(4,), seed=0)
    assert model.layers[0] is normalizer
    standardized = (x - x.mean(axis=0)) / x.std(axis=0)
    np.testing.assert_allclose(
        model.predict(x, verbose=0), plain.predict(standardized, verbose=0), rtol=1e-4, atol=1e-5
    )


def test_compiled_with_nll_trains():
    x, y = likely.datasets.make_d1(n=64, seed=0)
    model = likely.models.mlp(1, hidden=(8,), ensemble_size=2, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=likely.losses.nll)
    history = model.fit(x, y, epochs=30, batch_size=64, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"head": "student"}, ValueError, "head"),
        ({"head": "normal", "num_components": 3}, ValueError, "head='mixture'"),
        ({"hidden": 64}, TypeError, "hidden"),
        ({"hidden": (8, 0)}, ValueError, "hidden"),
        ({"ensemble_size": 0}, ValueError, "ensemble_size"),
        ({"variational": "bayes"}, ValueError, "variational"),
        ({"variational": "flipout"}, ValueError, "n_train"),
        ({"variational": "flipout", "n_train": 5, "ensemble_size": 3}, ValueError, "ensemble"),
        ({"n_train": 100}, ValueError, "variational="),
        ({"dropout": 1.0}, ValueError, "dropout"),
        ({"normalizer": np.zeros(2)}, TypeError, "normalizer"),
        ({"seed": "0"}, TypeError, "seed"),
    ],
)
def test_bad_arguments_raise(kwargs, error, match):
    with pytest.raises(error, match=match):
        likely.models.mlp(2, **kwargs)


def test_bad_input_dim_raises():
    with pytest.raises(ValueError, match="input_dim"):
        likely.models.mlp(0)
