"""`fit_arrays`: a seed gives the same model on every backend, and the caller's generators stay."""

import keras
import numpy as np
import pytest

from likely.experiment import ModelConfig, TrainingConfig, fit_arrays

pytestmark = pytest.mark.backends


def fit(x, y, seed):
    model = ModelConfig(hidden=[8], num_components=2, ensemble_size=1)
    training = TrainingConfig(epochs=3, batch_size=32, seed=seed)
    return fit_arrays(model, training, x, y, validation_fraction=0.2)


def test_a_seed_gives_identical_weights_and_the_global_generators_are_restored():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 2)).astype("float32")
    y = (x[:, 0] + 0.3 * rng.normal(size=300)).astype("float32")
    np.random.seed(7)  # noqa: NPY002 (the caller's global generator is under test)
    expected = np.random.rand()  # noqa: NPY002
    np.random.seed(7)  # noqa: NPY002
    if keras.backend.backend() == "torch":
        import torch

        torch.manual_seed(7)
        torch_expected = torch.rand(1)
        torch.manual_seed(7)
    a, b = fit(x, y, seed=5), fit(x, y, seed=5)
    assert np.random.rand() == expected  # noqa: NPY002 (untouched)
    if keras.backend.backend() == "torch":
        assert torch.rand(1) == torch_expected
    np.testing.assert_array_equal(a.split.stop, b.split.stop)
    for wa, wb in zip(a.model.get_weights(), b.model.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    c = fit(x, y, seed=6)
    assert not np.array_equal(a.model.get_weights()[-2], c.model.get_weights()[-2])


def test_auto_weight_decay_is_resolved_on_the_rows_trained_on():
    from likely.experiment._config import auto_weight_decay

    rng = np.random.default_rng(0)
    x = rng.normal(size=(5_000, 2)).astype("float32")
    y = (x[:, 0] + 0.3 * rng.normal(size=5_000)).astype("float32")
    model = ModelConfig(hidden=[8], num_components=1, ensemble_size=1)
    fitted = fit_arrays(model, TrainingConfig(epochs=1), x, y, validation_fraction=0.2)
    assert len(fitted.split.fit) == 4_000
    assert float(fitted.model.optimizer.weight_decay) == pytest.approx(auto_weight_decay(4_000))
    assert auto_weight_decay(4_000) == pytest.approx(2e-3)


def test_a_column_constant_in_training_does_not_blow_up_predictions():
    """A one-hot level never seen in training: Keras' adapt would divide it by 1e-7."""
    import likely

    rng = np.random.default_rng(1)
    x = np.column_stack([rng.normal(size=400), np.zeros(400)]).astype("float32")
    y = (20.0 + 5.0 * x[:, 0] + rng.normal(size=400)).astype("float32")
    fitted = fit_arrays(
        ModelConfig(hidden=[16], num_components=1, ensemble_size=1),
        TrainingConfig(epochs=20, batch_size=32, seed=0),
        x, y, validation_fraction=0.2,
    )  # fmt: skip
    unseen = np.array([[0.0, 1.0], [1.0, 1.0]], "float32")
    p = likely.predict_distribution(fitted.model, unseen)
    assert np.all(np.abs(p.mean - 20.0) < 30.0) and np.all(p.stddev < 30.0)


def test_a_row_far_outside_the_training_range_is_predicted_at_its_edge():
    """The network sees the training range's edge, not an unbounded extrapolation."""
    import likely

    rng = np.random.default_rng(2)
    x = rng.normal(size=(400, 2)).astype("float32")
    y = (x[:, 0] + 0.2 * rng.normal(size=400)).astype("float32")
    kwargs = dict(validation_fraction=0.2)
    training = TrainingConfig(epochs=5, batch_size=32, seed=0)
    clipped = fit_arrays(
        ModelConfig(hidden=[16], num_components=1, ensemble_size=1), training, x, y, **kwargs
    )
    fitted = clipped.split.fit
    low, high = x[fitted].min(axis=0), x[fitted].max(axis=0)
    edge = high + 0.1 * (high - low)  # the default margin: 10% of the range on each side
    far = np.array([[100.0, 0.0], [edge[0], 0.0], [0.5, 0.0]], "float32")
    p = likely.predict_distribution(clipped.model, far)
    np.testing.assert_allclose(p.mean[0], p.mean[1], rtol=1e-5)
    assert p.mean[2] != p.mean[0]  # inside the range nothing is clipped
    free = fit_arrays(
        ModelConfig(hidden=[16], num_components=1, ensemble_size=1, input_clip_margin=None),
        training, x, y, **kwargs,
    )  # fmt: skip
    q = likely.predict_distribution(free.model, far)
    assert abs(q.mean[0] - q.mean[1]) > 1.0  # without the layer: extrapolated
    assert not any(isinstance(layer, likely.layers.ClipToRange) for layer in free.model.layers)
