import numpy as np
import pytest
from backend_helpers import head_nll_and_gradient, to_numpy
from scipy import special

import likely
from likely.distributions import Categorical, OneHotCategorical

pytestmark = pytest.mark.backends

LOGITS = np.array([[0.0, 1.0, -1.0], [5.0, 0.0, 0.0]])


def test_log_prob_probs_and_sampling():
    d = Categorical(LOGITS)
    log_p = special.log_softmax(LOGITS, axis=-1)
    np.testing.assert_allclose(
        to_numpy(d.log_prob(np.array([1, 2]))), log_p[[0, 1], [1, 2]], rtol=1e-6
    )
    np.testing.assert_allclose(to_numpy(d.probs), np.exp(log_p), rtol=1e-6)
    np.testing.assert_array_equal(to_numpy(d.mode), [1, 0])
    draws = to_numpy(d.sample(30000, seed=0))
    for i in range(2):
        freq = np.bincount(draws[:, i], minlength=3) / 30000
        np.testing.assert_allclose(freq, np.exp(log_p[i]), atol=0.01)


def test_one_hot_values_and_moments():
    d = OneHotCategorical(LOGITS)
    assert d.event_shape == (3,)
    p = special.softmax(LOGITS, axis=-1)
    np.testing.assert_allclose(to_numpy(d.mean), p, rtol=1e-6)
    np.testing.assert_allclose(to_numpy(d.variance), p * (1 - p), rtol=1e-5)
    one_hot = np.eye(3)[[2, 0]]
    np.testing.assert_allclose(to_numpy(d.log_prob(one_hot)), np.log(p[[0, 1], [2, 0]]), rtol=1e-6)
    assert to_numpy(d.sample(7, seed=0)).shape == (7, 2, 3)


def test_head_takes_labels_or_one_hot_targets():
    head = likely.layers.OneHotCategorical(3)
    params = np.array(LOGITS, "float32")
    labels, _ = head_nll_and_gradient(head, np.array([2, 0]), params)
    one_hot, grad = head_nll_and_gradient(head, np.eye(3)[[2, 0]], params)
    expected = -special.log_softmax(LOGITS, axis=-1)[[0, 1], [2, 0]]
    np.testing.assert_allclose(labels, expected, rtol=1e-6)
    np.testing.assert_allclose(one_hot, expected, rtol=1e-6)
    assert np.all(np.isfinite(grad))


def test_too_few_classes_raise():
    with pytest.raises(ValueError, match="at least 2 classes"):
        Categorical(np.zeros((3, 1)))
    with pytest.raises(ValueError, match="num_classes"):
        likely.layers.OneHotCategorical(1)
