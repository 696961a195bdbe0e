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
    assert model.predict(x[:4], verbose=0).shape == (4, 5, 3)


def test_head_constrains_scales_and_packs_tfp_order():
    raw = np.array([[0.3, -0.2, 1.0, 2.0, -50.0, 0.0]], dtype="float32")  # K=2, E=1
    out = keras.ops.convert_to_numpy(MixtureNormal(2, 1, min_scale=1e-3)(raw))
    assert out.shape == (1, 2, 3)
    np.testing.assert_allclose(out[0, :, 0], [0.3, -0.2])  # logits
    np.testing.assert_allclose(out[0, :, 1], [1.0, 2.0])  # locs
    np.testing.assert_allclose(out[0, :, 2], [1e-3, np.log(2) + 1e-3], rtol=1e-5)


def test_independent_normal_vector_events():
    raw = np.array([[1.0, 2.0, 0.0, 0.0]], dtype="float32")
    out = keras.ops.convert_to_numpy(IndependentNormal(2)(raw))
    assert out.shape == (1, 1, 5)
    d = likely.Predictive(likely.models.distribution_from_params(out))
    assert d.event_shape == (2,)
    np.testing.assert_allclose(d.mean, [[1.0, 2.0]])


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
        np.save({str(tmp_path / "y.npy")!r}, model.predict(np.load({str(tmp_path / "x.npy")!r}), verbose=0))
        assert isinstance(model.layers[-1], likely.layers.MixtureNormal)
        assert model.layers[-1].min_scale == 1e-4
        """
    )
    env = {"KERAS_BACKEND": keras.backend.backend(), "TF_CPP_MIN_LOG_LEVEL": "3"}
    import os

    subprocess.run([sys.executable, "-c", script], check=True, env={**os.environ, **env})
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), expected)
