"""The covariate-shift score: exact k-NN distances, threshold, saving, DC2 faint galaxies."""

import os
import subprocess
import sys

import keras
import numpy as np
import pandas as pd
import pytest

import likely
from likely.experiment import (
    TrainingSampleDistance,
    build_model,
    input_columns,
    parse_config,
    shift_report,
    shift_score,
)


def brute_force_kth(reference, x, k, exclude_self=False):
    d = np.sqrt(((x[:, None, :] - reference[None, :, :]) ** 2).sum(-1))
    return np.sort(d, axis=1)[:, k - 1 + int(exclude_self)]


@pytest.mark.backends
def test_distance_and_threshold_match_brute_force():
    rng = np.random.default_rng(1)
    train = rng.normal(size=(800, 3)).astype("float32")
    layer = TrainingSampleDistance(300, 3, neighbours=4)
    layer.adapt(train, quantile=0.9, seed=2)
    reference = keras.ops.convert_to_numpy(layer.reference)
    # The reference is 300 distinct training rows.
    assert len({tuple(r) for r in reference}) == 300
    assert {tuple(r) for r in reference} <= {tuple(r) for r in train}
    x = rng.normal(size=(50, 3)).astype("float32") * 2
    np.testing.assert_allclose(layer.distance(x), brute_force_kth(reference, x, 4), rtol=1e-5)
    own = brute_force_kth(reference, reference, 4, exclude_self=True)
    threshold = float(keras.ops.convert_to_numpy(layer.threshold))
    assert threshold == pytest.approx(np.quantile(own, 0.9), rel=1e-5)
    np.testing.assert_allclose(
        layer.score(x), brute_force_kth(reference, x, 4) / threshold, rtol=1e-5
    )
    # Identity in the forward pass.
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x)), x)


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="neighbours"):
        TrainingSampleDistance(10, 2, neighbours=10)
    layer = TrainingSampleDistance(10, 2, neighbours=3)
    with pytest.raises(ValueError, match=r"at least num_reference=10 rows"):
        layer.adapt(np.zeros((5, 2)))
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        layer.adapt(np.zeros((20, 3)))


def toy_model(reference_rows=300, **shift):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=400), "b": rng.normal(size=400)})
    frame["y"] = frame.a + 0.3 * rng.normal(size=400)
    config = parse_config(
        {
            "data": {
                "train": "t.csv",
                "features": ["a", "b"],
                "target": "y",
                "shift_score": {"reference_rows": reference_rows, **shift},
            },
            "model": {"hidden": [8], "head": "normal", "ensemble_size": 1},
        }
    )
    return build_model(config, frame), frame


def test_score_in_a_fresh_process(tmp_path):
    model, _ = toy_model()
    x = np.array([[0.0, 0.0], [3.0, -3.0], [10.0, 0.0]], "float32")
    expected = shift_score(model, x)
    assert expected[0] < 1.0 < expected[1] < expected[2]
    model.save(tmp_path / "m.keras")
    np.save(tmp_path / "x.npy", x)
    code = (
        "import numpy as np, keras, likely\n"
        "from likely.experiment import shift_score\n"
        f"m = keras.saving.load_model({str(tmp_path / 'm.keras')!r})\n"
        f"x = np.load({str(tmp_path / 'x.npy')!r})\n"
        f"np.save({str(tmp_path / 's.npy')!r}, shift_score(m, x))\n"
    )
    env = {**os.environ, "KERAS_BACKEND": keras.backend.backend()}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    np.testing.assert_array_equal(np.load(tmp_path / "s.npy"), expected)


def test_model_without_reference_is_refused():
    model, _ = toy_model(enabled=False)
    with pytest.raises(ValueError, match="data.shift_score.enabled"):
        shift_score(model, np.zeros((2, 2), "float32"))


def test_report_apart_inside_and_outside():
    model, frame = toy_model()
    x = frame[["a", "b"]].to_numpy("float32")
    y = np.abs(frame["y"].to_numpy())  # a redshift-like target for the photo-z metrics
    score = np.r_[np.zeros(300), np.full(100, 2.0)]
    p = likely.predict_distribution(model, x)
    report = shift_report(y, p, score, kind="photoz")
    assert report["outside_fraction"] == pytest.approx(0.25)
    for name, rows in (("inside", slice(0, 300)), ("outside", slice(300, 400))):
        alone = likely.metrics.report(
            y[rows], likely.predict_distribution(model, x[rows]), kind="photoz"
        )
        for key in (
            "nll",
            "crps",
            "pit_ks",
            "coverage_68",
            "coverage_95",
            "bias_mode",
            "sigma_iqr_mode",
            "outlier_rate_mode",
            "cde_loss",
        ):
            assert report[f"{name}_{key}"] == pytest.approx(alone[key], rel=1e-6), key
    assert "inside_sigma_iqr_mode" not in shift_report(y, p, score)  # regression kind
    lonely = shift_report(y, p, np.r_[np.zeros(399), 2.0])
    assert "outside_crps" not in lonely and lonely["outside_fraction"] == pytest.approx(1 / 400)
    with pytest.raises(ValueError, match="same objects"):
        shift_report(y[:10], p, score[:10])


def test_report_of_an_ensemble_keeps_its_members():
    rng = np.random.default_rng(0)
    loc, scale = rng.normal(size=(50, 4)), np.full((50, 4), 0.5)
    mixture = likely.distributions.MixtureNormal
    p = likely.Predictive(mixture(np.zeros((50, 4)), loc, scale), num_members=2)
    y = rng.normal(size=50)
    report = shift_report(y, p, np.r_[np.zeros(30), np.full(20, 3.0)])
    part = likely.Predictive(mixture(np.zeros((20, 4)), loc[30:], scale[30:]), num_members=2)
    assert report["outside_nll"] == pytest.approx(likely.metrics.nll(y[30:], part), rel=1e-6)


def test_dc2_faint_galaxies_lie_outside_a_bright_training_sample():
    """Train on i < 24 (the reference only depends on the training features), score all."""
    from sklearn.metrics import roc_auc_score

    from likely.demo import demo_config
    from likely.experiment._pipeline import load_table

    config = demo_config(data={"filters": ["mag_i_lsst < 24"]}, tracking={"enabled": False})
    model = build_model(config, load_table(config.data, "dc2:train"))
    all_rows = demo_config().data
    validation = load_table(all_rows, "dc2:validation")
    score = shift_score(model, validation[input_columns(all_rows)].to_numpy("float32"))
    faint = validation["mag_i_lsst"].to_numpy() >= 24
    assert 0.5 < faint.mean() < 0.7  # 63% of the validation galaxies are fainter than the cut
    assert roc_auc_score(faint, score) > 0.95  # 0.991 measured
    assert np.mean(score[~faint] > 1) < 0.03  # about the 1% the threshold leaves out
    assert np.mean(score[faint] > 1) > 0.7  # 0.89 measured
