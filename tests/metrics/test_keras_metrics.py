import keras
import numpy as np
import pytest
from scipy import stats

import likely

pytestmark = pytest.mark.backends


def evaluate(model, metric, x, y):
    model.compile(optimizer="adam", loss=likely.losses.nll, metrics=[metric])
    return model.evaluate(x, y, batch_size=len(x), verbose=0, return_dict=True)


def test_keras_metrics_match_likely_metrics_on_an_ensemble():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 2)).astype("float32")
    y = (x[:, 0] + rng.normal(size=64)).astype("float32")
    model = likely.models.mlp(2, hidden=(8,), ensemble_size=3, seed=0)
    p = likely.predict_distribution(model, x)
    nll = evaluate(model, likely.metrics.PredictiveNLL(), x, y)
    assert nll["predictive_nll"] == pytest.approx(likely.metrics.nll(y, p), rel=1e-4)
    # The loss is the members' mean NLL, which is at least the mixture's.
    assert nll["loss"] >= nll["predictive_nll"] - 1e-6
    crps = evaluate(model, likely.metrics.CRPS(), x, y)["crps"]
    assert crps == pytest.approx(likely.metrics.crps(y, p), rel=1e-4)
    coverage = evaluate(model, likely.metrics.Coverage(0.68), x, y)["coverage_68"]
    assert coverage == pytest.approx(likely.metrics.coverage(y, p, 0.68), abs=1 / 64 + 1e-6)
    mae = evaluate(model, likely.metrics.OnMean("mae"), x, y)["mae"]
    assert mae == pytest.approx(np.mean(np.abs(p.mean - y)), rel=1e-5)


def test_crps_of_a_single_gaussian_head_and_unsupported_families():
    x = np.zeros((8, 1), "float32")
    y = np.linspace(-1, 1, 8).astype("float32")
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(2),
                              likely.layers.IndependentNormal(1)])  # fmt: skip
    p = likely.predict_distribution(model, x)
    z = (y - p.mean) / p.stddev
    closed = p.stddev * (
        z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / np.sqrt(np.pi)
    )
    assert evaluate(model, likely.metrics.CRPS(), x, y)["crps"] == pytest.approx(
        closed.mean(), rel=1e-4
    )
    student = keras.Sequential([keras.Input((1,)), keras.layers.Dense(3),
                                likely.layers.IndependentStudentT(1)])  # fmt: skip
    with pytest.raises(ValueError, match="closed forms for normal"):
        evaluate(student, likely.metrics.CRPS(), x, y)
