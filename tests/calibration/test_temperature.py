import numpy as np
import pytest

import likely


def test_recovers_the_temperature_and_keeps_the_predicted_classes():
    rng = np.random.default_rng(0)
    true_logits = rng.normal(size=(6000, 3)) * 1.5
    probs = np.exp(true_logits) / np.exp(true_logits).sum(1, keepdims=True)
    y = np.array([rng.choice(3, p=row) for row in probs])
    confident = likely.distributions.Categorical(true_logits * 2.5)
    scaler = likely.calibration.TemperatureScaling().fit(confident.take(np.arange(3000)), y[:3000])
    assert scaler.temperature_ == pytest.approx(2.5, rel=0.1)
    fixed = scaler.transform(confident)
    assert np.array_equal(np.asarray(fixed.mode), np.asarray(confident.mode))
    before = likely.metrics.log_loss(y[3000:], confident.take(np.arange(3000, 6000)))
    after = likely.metrics.log_loss(y[3000:], fixed.distribution.take(np.arange(3000, 6000)))
    assert after < before
    ece = likely.metrics.expected_calibration_error
    assert ece(y[3000:], fixed.distribution.take(np.arange(3000, 6000))) < 0.03


def test_binary_classifier_and_errors():
    d = likely.distributions.Bernoulli(np.array([5.0, -5.0, 5.0, -5.0]))
    fitted = likely.calibration.TemperatureScaling().fit(d, np.array([1, 0, 0, 1]))
    assert fitted.temperature_ > 3.0  # half the confident predictions are wrong
    with pytest.raises(likely.calibration.NotFittedError):
        likely.calibration.TemperatureScaling().transform(d)
    with pytest.raises(TypeError, match="classifiers"):
        likely.calibration.TemperatureScaling().fit(likely.distributions.Normal(0.0, 1.0), [0])
