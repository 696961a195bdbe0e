"""choose_recalibration: a richer map is chosen only when it clearly wins on held-out rows."""

import numpy as np

import likely
from likely.calibration import choose_recalibration


def test_a_calibrated_predictive_on_a_few_rows_keeps_the_identity():
    # 40 rows of a perfectly calibrated normal: any map's cross-fitted gain is chance.
    chosen = []
    for seed in range(20):
        rng = np.random.default_rng(seed)
        loc = rng.normal(size=40)
        y = loc + rng.normal(size=40)
        p = likely.distributions.Normal(loc, np.ones(40))
        chosen.append(choose_recalibration(p, y, seed=seed).kind)
    assert chosen.count("isotonic") == 0
    assert chosen.count("none") >= 17


def test_a_too_narrow_predictive_is_rescaled_and_a_wrong_shape_gets_the_isotonic_map():
    rng = np.random.default_rng(0)
    y = rng.normal(size=3000)
    narrow = likely.distributions.Normal(np.zeros(3000), np.full(3000, 0.5))
    assert choose_recalibration(narrow, y).kind == "scale"
    # a skewed truth under a symmetric predictive: only the isotonic map fixes the shape
    skewed = rng.exponential(size=3000) - 1.0
    wrong_shape = likely.distributions.Normal(np.zeros(3000), np.ones(3000))
    choice = choose_recalibration(wrong_shape, skewed)
    assert choice.kind == "isotonic"
    assert choice.scores["isotonic"] < min(choice.scores["scale"], choice.scores["none"]) - 0.1
