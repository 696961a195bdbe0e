import numpy as np
import pytest
from sklearn import metrics as skm

import likely

RNG = np.random.default_rng(0)
LOGITS = RNG.normal(size=(500, 4)) * 2.0
LABELS = np.array(
    [RNG.choice(4, p=row) for row in np.exp(LOGITS) / np.exp(LOGITS).sum(1, keepdims=True)]
)


def test_scores_match_scikit_learn():
    d = likely.distributions.Categorical(LOGITS)
    probs = likely.metrics.class_probabilities(d)
    assert likely.metrics.log_loss(LABELS, d) == pytest.approx(
        skm.log_loss(LABELS, probs), rel=1e-6
    )
    one_hot = np.eye(4)[LABELS]
    assert likely.metrics.log_loss(one_hot, likely.distributions.OneHotCategorical(LOGITS)) == (
        pytest.approx(skm.log_loss(LABELS, probs), rel=1e-6)
    )
    expected = np.mean(np.sum((probs - one_hot) ** 2, axis=1))
    assert likely.metrics.brier_score(LABELS, d) == pytest.approx(expected, rel=1e-9)
    binary_p = 1 / (1 + np.exp(-LOGITS[:, 0]))
    y = (LABELS == 0).astype(int)
    b = likely.distributions.Bernoulli(LOGITS[:, 0])
    assert likely.metrics.brier_score(y, b) / 2 == pytest.approx(
        skm.brier_score_loss(y, binary_p), rel=1e-6
    )
    assert likely.metrics.log_loss(y, b) == pytest.approx(skm.log_loss(y, binary_p), rel=1e-5)


def test_calibrated_probabilities_have_small_ece_and_overconfident_ones_do_not():
    p = RNG.uniform(size=20000)
    y = (RNG.uniform(size=20000) < p).astype(int)
    assert likely.metrics.expected_calibration_error(y, p) < 0.02
    sharpened = 1 / (1 + np.exp(-3 * np.log(p / (1 - p))))
    assert likely.metrics.expected_calibration_error(y, sharpened) > 0.1
    confidence, accuracy, count = likely.metrics.reliability_curve(y, p, bins=10)
    assert count.sum() == 20000
    np.testing.assert_allclose(accuracy, confidence, atol=0.03)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="one label in 0..3"):
        likely.metrics.log_loss(np.full(500, 7), likely.distributions.Categorical(LOGITS))
    with pytest.raises(TypeError, match="Classification scores need"):
        likely.metrics.log_loss(np.zeros(3), likely.distributions.Normal(np.zeros(3), 1.0))
    with pytest.raises(TypeError, match="classification scores"):
        likely.metrics.crps(np.zeros(3), likely.distributions.Bernoulli(np.zeros(3)))
