"""likely.callbacks.CalibratedEarlyStopping: the score, the stop and the restored weights."""

import keras
import numpy as np
import pytest

import likely
from likely.calibration import ScaleRecalibrator
from likely.callbacks import CalibratedEarlyStopping


def data(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, 2)).astype("float32")
    y = (x[:, 0] + 0.3 * rng.normal(size=n)).astype("float32")
    return x, y


def model(head="normal", rate=3e-3):
    keras.utils.set_random_seed(0)  # Keras shuffles with the global generators
    network = likely.models.mlp(2, hidden=(16,), head=head, seed=0)
    network.compile(optimizer=keras.optimizers.Adam(rate), loss=likely.losses.nll)
    return network


def test_score_is_the_nll_after_the_best_scale_map_and_is_logged():
    x, y = data(300, 0)
    x_val, y_val = data(100, 1)
    network = model()
    stop = CalibratedEarlyStopping((x_val, y_val), patience=5)
    history = network.fit(x, y, epochs=3, callbacks=[stop], verbose=0)
    assert len(history.history["val_calibrated_nll"]) == 3
    p = likely.predict_distribution(network, x_val, recalibrated=False)
    rescaled = ScaleRecalibrator().fit(p, y_val).transform(p)
    expected = float(np.mean(-np.asarray(rescaled.log_prob(y_val), np.float64)))
    assert stop.score() == pytest.approx(expected, rel=1e-6)
    # the best scale map can only lower the NLL of the raw predictive
    assert stop.score() <= float(np.mean(-np.asarray(p.log_prob(y_val)))) + 1e-9


def test_stops_after_patience_and_restores_the_best_epoch():
    x, y = data(300, 0)
    x_val, y_val = data(100, 1)
    network = model(rate=0.05)  # a rate this large makes the held-out score wander
    stop = CalibratedEarlyStopping((x_val, y_val), patience=2)
    history = network.fit(x, y, epochs=60, batch_size=16, callbacks=[stop], verbose=0)
    scores = history.history["val_calibrated_nll"]
    assert stop.stopped_epoch is not None and len(scores) == stop.stopped_epoch + 1
    assert stop.best_epoch == int(np.argmin(scores)) and stop.best == pytest.approx(min(scores))
    assert all(s >= stop.best for s in scores[stop.best_epoch + 1 :])
    assert stop.score() == pytest.approx(stop.best, rel=1e-5)  # the best weights are back


def test_a_bounded_family_is_scored_by_its_plain_nll():
    x, y = data(300, 0)
    y, y_val = np.exp(y), np.exp(data(100, 1)[1])
    x_val = data(100, 1)[0]
    network = model(head="lognormal")
    stop = CalibratedEarlyStopping((x_val, y_val), patience=5)
    network.fit(x, y, epochs=2, callbacks=[stop], verbose=0)
    p = likely.predict_distribution(network, x_val, recalibrated=False)
    assert stop.score() == pytest.approx(float(np.mean(-np.asarray(p.log_prob(y_val)))), rel=1e-6)


def test_bad_arguments_are_refused():
    x, y = data(10, 0)
    with pytest.raises(ValueError, match="validation_data"):
        CalibratedEarlyStopping([x, y])
    with pytest.raises(ValueError, match="patience"):
        CalibratedEarlyStopping((x, y), patience=0)
