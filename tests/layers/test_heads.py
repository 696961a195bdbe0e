import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import likely
from likely.layers import IndependentNormal, MixtureNormal

pytestmark = pytest.mark.backends


def test_params_size_matches_tfp_layout():
    assert IndependentNormal.params_size(1) == 2
    assert IndependentNormal.params_size(3) == 6
    assert MixtureNormal.params_size(5, 1) == 15
    assert MixtureNormal.params_size(2, 3) == 14


def test_course_style_model_trains_with_fit():
    x, y = likely.datasets.make_d2(n=256, seed=0)
    model = keras.Sequential(
        [
            keras.Input((1,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(MixtureNormal.params_size(5, 1)),
            MixtureNormal(5, 1),
        ]
    )
    model.compile(optimizer="adam", loss=likely.losses.nll)
    history = model.fit(x, y, batch_size=32, epochs=3, validation_split=0.2, verbose=0)
    assert set(history.history) >= {"loss", "val_loss"}
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.predict(x[:4], verbose=0).shape == (4, 15)


def test_head_constrains_scales_in_tfp_order():
    raw = np.array([[0.3, -0.2, 1.0, 2.0, -50.0, 0.0]], dtype="float32")  # K=2, E=1
    head = MixtureNormal(2, 1, min_scale=1e-3)
    out = keras.ops.convert_to_numpy(head(raw))
    np.testing.assert_array_equal(out, raw)  # a head passes its parameters through
    d = head.distribution(raw)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(d.logits)[0], [0.3, -0.2])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(d.loc)[0, :, 0], [1.0, 2.0])
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(d.scale)[0, :, 0], [1e-3, np.log(2) + 1e-3], rtol=1e-5
    )


def test_independent_normal_vector_events():
    raw = np.array([[1.0, 2.0, 0.0, 0.0]], dtype="float32")
    p = likely.models.predictive_from_params(IndependentNormal(2), raw)
    assert p.event_shape == (2,) and isinstance(p.distribution, likely.distributions.Independent)
    np.testing.assert_allclose(p.mean, [[1.0, 2.0]])


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: MixtureNormal(0), "`num_components` must be a positive integer"),
        (lambda: MixtureNormal(2.5), "`num_components` must be a positive integer"),
        (lambda: IndependentNormal(event_size=-1), "`event_size` must be a positive integer"),
        (lambda: IndependentNormal(min_scale=-1.0), "`min_scale` must be a non-negative"),
    ],
)
def test_bad_arguments_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_wrong_input_width_names_params_size():
    model_input = keras.Input((7,))
    with pytest.raises(ValueError, match="params_size"):
        MixtureNormal(2, 1)(model_input)


def test_keras_round_trip_in_fresh_process(tmp_path):
    keras.utils.set_random_seed(1)
    model = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(8, activation="tanh"),
            keras.layers.Dense(MixtureNormal.params_size(3, 1)),
            MixtureNormal(3, 1, min_scale=1e-4),
        ]
    )
    model.compile(optimizer="adam", loss=likely.losses.NegativeLogLikelihood())
    x = np.random.default_rng(0).normal(size=(16, 2)).astype("float32")
    expected = model.predict(x, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    np.save(tmp_path / "x.npy", x)
    script = textwrap.dedent(
        f"""
        import numpy as np, keras, likely
        model = keras.saving.load_model({str(path)!r})
        x = np.load({str(tmp_path / "x.npy")!r})
        np.save({str(tmp_path / "y.npy")!r}, model.predict(x, verbose=0))
        assert isinstance(model.layers[-1], likely.layers.MixtureNormal)
        assert model.layers[-1].min_scale == 1e-4
        """
    )
    env = {"KERAS_BACKEND": keras.backend.backend(), "TF_CPP_MIN_LOG_LEVEL": "3"}
    import os

    subprocess.run([sys.executable, "-c", script], check=True, env={**os.environ, **env})
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), expected)


# -- self-describing heads -------------------------------------------------------------
def test_a_reshaped_dense_output_is_refused_not_read_as_an_ensemble():
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(12), keras.layers.Reshape((4, 1, 3))]
    )
    with pytest.raises(TypeError, match="likely head"):
        likely.predict_distribution(model, np.zeros((2, 3)))
    y_pred = model(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match="NegativeLogLikelihood\\(head="):
        likely.losses.nll(np.zeros(2), y_pred)
    model.compile(optimizer="adam", loss=likely.losses.nll)
    with pytest.raises(ValueError, match="not produced by a likely head"):
        model.fit(np.zeros((8, 3)), np.zeros(8), epochs=1, verbose=0)


def test_an_undeclared_extra_axis_is_a_batch_axis_and_predict_names_the_fix():
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(8), keras.layers.Reshape((4, 2)),
         IndependentNormal(1)]
    )  # fmt: skip
    assert model.layers[-1].ensemble_size is None
    with pytest.raises(ValueError, match="ensemble_size=M"):
        likely.predict_distribution(model, np.zeros((2, 3)))
    declared = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(8), keras.layers.Reshape((4, 2)),
         IndependentNormal(1, ensemble_size=4)]
    )  # fmt: skip
    assert likely.predict_distribution(declared, np.zeros((2, 3))).num_members == 4


def test_functional_models_and_the_loss_class_find_the_head():
    inputs = keras.Input((2,))
    hidden = keras.layers.Dense(8, activation="tanh")(inputs)
    head = likely.layers.IndependentStudentT(1)
    outputs = head(keras.layers.Dense(3)(hidden))
    model = keras.Model(inputs, outputs)
    assert likely.models.output_head(model) is head
    x = np.random.default_rng(0).normal(size=(64, 2)).astype("float32")
    y = x[:, 0]
    for loss in (likely.losses.nll, likely.losses.NegativeLogLikelihood(),
                 likely.losses.NegativeLogLikelihood(head=head)):  # fmt: skip
        model.compile(optimizer="adam", loss=loss)
        history = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
        assert np.isfinite(history.history["loss"]).all()


def test_bound_loss_works_when_keras_drops_the_tag():
    # A Bernoulli ensemble outputs (batch, M, 1): Keras squeezes it against (batch, 1)
    # targets, which makes a new tensor without the tag.
    head = likely.layers.IndependentBernoulli(1, ensemble_size=3)
    model = keras.Sequential([keras.Input((2,)), likely.layers.EnsembleDense(1, 3), head])
    x = np.random.default_rng(0).normal(size=(32, 2)).astype("float32")
    y = (x[:, :1] > 0).astype("float32")
    model.compile(optimizer="adam", loss=likely.losses.NegativeLogLikelihood(head=head))
    history = model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_keras_internals_the_loss_relies_on_still_hold():
    from likely._keras_compat import in_symbolic_scope

    assert in_symbolic_scope() is False
    from keras.src.backend.common.symbolic_scope import SymbolicScope

    with SymbolicScope():
        assert in_symbolic_scope() is True
        placeholder = likely.losses.nll(np.zeros(3), keras.ops.zeros((3, 2)))
    assert tuple(placeholder.shape) == (3,)


HEADS = [
    lambda: IndependentNormal(2),
    lambda: MixtureNormal(3, 1),
    lambda: likely.layers.IndependentStudentT(1),
    lambda: likely.layers.IndependentLogNormal(1),
    lambda: likely.layers.MultivariateNormalTriL(2),
    lambda: likely.layers.IndependentBernoulli(2),
    lambda: likely.layers.OneHotCategorical(3),
    lambda: likely.layers.SplineFlow(6, low=-3.0, high=3.0),
    lambda: likely.layers.MixtureSameFamily(2, "student_t"),
    lambda: likely.layers.DistributionHead("lognormal", event_size=2, min_scale=0.01),
]


@pytest.mark.slow
def test_every_head_round_trips_in_a_fresh_process(tmp_path):
    x = np.random.default_rng(0).normal(size=(16, 2)).astype("float32")
    expected = {}
    for i, make in enumerate(HEADS):
        head = make()
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(head.num_params), head])
        model.compile(optimizer="adam", loss=likely.losses.nll)
        model.save(tmp_path / f"m{i}.keras")
        p = likely.predict_distribution(model, x)
        expected[i] = np.asarray(p.mean, float)
    np.save(tmp_path / "x.npy", x)
    script = textwrap.dedent(
        f"""
        import numpy as np, keras, likely
        x = np.load({str(tmp_path / "x.npy")!r})
        for i in range({len(HEADS)}):
            model = keras.saving.load_model({str(tmp_path)!r} + f"/m{{i}}.keras")
            p = likely.predict_distribution(model, x)
            np.save({str(tmp_path)!r} + f"/out{{i}}.npy", p.mean)
        """
    )
    import os

    env = {**os.environ, "KERAS_BACKEND": keras.backend.backend(), "TF_CPP_MIN_LOG_LEVEL": "3"}
    subprocess.run([sys.executable, "-c", script], check=True, env=env)
    for i, value in expected.items():
        np.testing.assert_allclose(np.load(tmp_path / f"out{i}.npy"), value, rtol=1e-6, err_msg=i)
