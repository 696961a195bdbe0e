"""A family defined outside likely works with heads, losses, predictives, metrics and saving."""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from scipy import stats
from user_laplace import Laplace, laplace_from_outputs

import likely

pytestmark = pytest.mark.backends

HERE = os.path.dirname(__file__)


def laplace_data(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=(n, 1)).astype("float32")
    y = (2.0 * x[:, 0] + rng.laplace(scale=0.3, size=n)).astype("float32")
    return x, y


@pytest.mark.parametrize("head", ["registered", "lambda"])
def test_user_family_trains_predicts_scores_and_reloads(head, tmp_path):
    x, y = laplace_data(2000, 0)
    layer = (
        likely.layers.DistributionHead("user_laplace")
        if head == "registered"
        else likely.layers.DistributionLambda(laplace_from_outputs)
    )
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(16, "tanh"),
                              keras.layers.Dense(2), layer])  # fmt: skip
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=likely.losses.nll)
    model.fit(x, y, epochs=60, batch_size=100, verbose=0)
    x_test, y_test = laplace_data(2000, 1)
    p = likely.predict_distribution(model, x_test)
    assert isinstance(p.distribution, Laplace)
    # The fit recovers the noise scale 0.3 (variance 2 b^2) and the PIT is uniform.
    assert np.median(p.stddev) == pytest.approx(np.sqrt(2) * 0.3, rel=0.15)
    assert likely.metrics.pit_ks(y_test, p) < 0.05
    nll = likely.metrics.nll(y_test, p)
    reference = -stats.laplace.logpdf(y_test, p.mean, p.stddev / np.sqrt(2)).mean()
    assert nll == pytest.approx(reference, rel=1e-4)
    crps = likely.metrics.crps(y_test, p)  # no closed form: the numeric path
    closed = np.mean(
        (p.stddev / np.sqrt(2))
        * (np.abs(z := (y_test - p.mean) / (p.stddev / np.sqrt(2))) + np.exp(-np.abs(z)) - 0.75)
    )
    assert crps == pytest.approx(closed, rel=1e-3)
    path = tmp_path / "model.keras"
    model.save(path)
    expected = p.quantile(0.9)
    np.save(tmp_path / "x.npy", x_test)
    script = textwrap.dedent(
        f"""
        import sys; sys.path.insert(0, {HERE!r})
        import numpy as np, keras, likely
        import user_laplace  # registers the family, as a user's own module would
        model = keras.saving.load_model({str(path)!r})
        p = likely.predict_distribution(model, np.load({str(tmp_path / "x.npy")!r}))
        np.save({str(tmp_path / "q.npy")!r}, p.quantile(0.9))
        """
    )
    env = {**os.environ, "KERAS_BACKEND": keras.backend.backend(), "TF_CPP_MIN_LOG_LEVEL": "3"}
    subprocess.run([sys.executable, "-c", script], check=True, env=env)
    np.testing.assert_allclose(np.load(tmp_path / "q.npy"), expected, rtol=1e-6)


def test_ensemble_of_a_user_family_is_a_mixture_with_an_epistemic_split():
    x, _ = laplace_data(50, 2)
    model = keras.Sequential([
        keras.Input((1,)),
        likely.layers.EnsembleDense(8, 3, activation="tanh"),
        likely.layers.EnsembleDense(2, 3),
        likely.layers.DistributionHead("user_laplace"),
    ])  # fmt: skip
    p = likely.predict_distribution(model, x)
    assert isinstance(p.distribution, likely.distributions.MixtureSameFamily)
    np.testing.assert_allclose(p.variance, p.aleatoric_variance + p.epistemic_variance, rtol=1e-5)
    assert np.all(p.epistemic_variance > 0)
