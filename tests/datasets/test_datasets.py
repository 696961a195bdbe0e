import numpy as np
import pytest

from likely.datasets import (
    load_dc2,
    make_d1,
    make_d2,
    make_d3,
    make_tfp_regression,
    photometry_features,
    replace_nondetections,
)


def test_toy_sets_are_seeded_and_follow_their_definitions():
    x, y = make_d1(n=20000, seed=3)
    np.testing.assert_array_equal(x, make_d1(n=20000, seed=3)[0])
    assert np.std(y - 0.1 * x[:, 0]) == pytest.approx(0.025, rel=0.03)
    x, y = make_d2(n=20000, seed=3)
    z = (y - 0.1 * x[:, 0] - np.sin(5 * x[:, 0])) / (0.45 * np.abs(x[:, 0]))
    assert np.std(z) == pytest.approx(1.0, rel=0.03)
    x, y = make_d3(n=20000, seed=3)
    upper = np.abs(y - 0.75 * x[:, 0]) < np.abs(y - 0.1 * x[:, 0])
    assert upper.mean() == pytest.approx(0.5, abs=0.03)


def test_tfp_set_matches_tutorial_definition():
    x, y, x_test = make_tfp_regression(n=20000, seed=0)
    assert x.min() >= -20 and x.max() <= 60
    g = (x[:, 0] + 20) / 80
    residual = (y - 0.125 * x[:, 0] * (1 + np.sin(x[:, 0])) - 5) / (3 * (0.25 + g**2))
    assert np.std(residual) == pytest.approx(1.0, rel=0.03)
    np.testing.assert_allclose(x_test[[0, -1], 0], [-20, 60])


def test_dc2_nondetections_never_reach_99():
    train = load_dc2("train")
    validation = load_dc2("validation")
    assert (len(train), len(validation)) == (10225, 20449)
    assert not set(train.id) & set(validation.id)
    for frame in (train, validation):
        mags = frame.filter(like="mag_").to_numpy()
        assert mags.max() < 90
    assert int((~train.detected_u).sum()) == 714 and int((~train.detected_g).sum()) == 2
    assert int((~validation.detected_u).sum()) == 1489
    assert np.allclose(train.loc[~train.detected_u, "mag_u_lsst"], 26.620825)
    nan = load_dc2("train", nondetection="nan")
    assert int(nan.mag_u_lsst.isna().sum()) == 714


def test_dc2_features_are_finite_colours():
    frame = load_dc2("validation")
    features = photometry_features(frame)
    assert np.isfinite(features.to_numpy()).all()
    np.testing.assert_allclose(features["g-r"], frame.mag_g_lsst - frame.mag_r_lsst, rtol=1e-6)
    assert features.filter(like="err_").max().max() <= 2.5 / np.log(10) + 1e-6


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="`split` must be one of"):
        load_dc2("test")
    with pytest.raises(ValueError, match="`nondetection` must be one of"):
        load_dc2("train", nondetection="keep")
    with pytest.raises(ValueError, match="`n` must be a positive integer"):
        make_d2(n=0)
    raw = load_dc2("train", nondetection="nan")
    with pytest.raises(ValueError, match="Missing photometry columns"):
        photometry_features(raw.drop(columns=["mag_r_lsst"]))
    broken = raw.copy()
    broken["mag_u_lsst"] = broken["mag_u_lsst"].fillna(99.0)
    broken["mag_err_u_lsst"] = broken["mag_err_u_lsst"].fillna(1.0)
    with pytest.raises(ValueError, match="limiting magnitude"):
        replace_nondetections(broken)
