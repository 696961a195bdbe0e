import numpy as np
import pytest
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import likely
from likely.datasets import make_d2


def small(**kwargs):
    params = {
        "hidden": (16, 16),
        "ensemble_size": 1,
        "epochs": 30,
        "tracking": False,
        "random_state": 0,
    }
    return likely.ProbabilisticRegressor(**{**params, **kwargs})


def test_fit_predict_score_and_params():
    x, y = make_d2(n=600, seed=0)
    reg = small(learning_rate=1e-2)
    assert reg.fit(x, y) is reg
    assert reg.n_features_in_ == 1
    assert reg.predict(x).shape == (600,)
    predictive = reg.predict_distribution(x)
    assert isinstance(predictive, likely.Predictive)
    np.testing.assert_allclose(reg.predict(x), predictive.mean)
    assert reg.score(x, y) == pytest.approx(np.mean(predictive.log_prob(y)))
    baseline = likely.Predictive(
        likely.distributions.Normal(np.full(600, y.mean()), np.full(600, y.std()))
    )
    assert reg.score(x, y) > np.mean(baseline.log_prob(y))  # learned something
    assert reg.get_params()["hidden"] == (16, 16)
    assert reg.set_params(epochs=3).epochs == 3


def test_seeded_fits_are_identical():
    x, y = make_d2(n=200, seed=1)
    a = small(epochs=5).fit(x, y).predict(x)
    b = small(epochs=5).fit(x, y).predict(x)
    np.testing.assert_array_equal(a, b)


def test_works_in_pipeline_and_cross_val_score():
    x, y = make_d2(n=300, seed=2)
    pipeline = make_pipeline(StandardScaler(), small(epochs=5))
    scores = cross_val_score(pipeline, x, y, cv=3)
    assert scores.shape == (3,) and np.all(np.isfinite(scores))


def test_not_fitted_and_bad_params_raise():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        small().predict(np.zeros((2, 1)))
    with pytest.raises(ValueError, match="head"):
        small(head="gauss").fit(np.zeros((10, 1)), np.zeros(10))


@pytest.mark.slow
def test_check_estimator():
    from sklearn.utils.estimator_checks import check_estimator

    # Every scikit-learn check applies but one; `score` is a log-likelihood, so
    # the estimator declares the `poor_score` tag (no R^2 > 0.5 requirement).
    # Weights equal repeated rows only in expectation: the rows are split at
    # random and trained on in shuffled minibatches, so a repeated row can
    # land in the held-out part (`test_return_std_and_sample_weight` checks
    # what weights do).
    stochastic = "random split and minibatches: weights equal repetitions in expectation only"
    check_estimator(
        small(epochs=2, hidden=(4,)),
        expected_failed_checks={"check_sample_weight_equivalence_on_dense_data": stochastic},
    )


def test_random_state_none_is_fresh_and_no_global_seed_is_touched():
    x, y = make_d2(n=200, seed=3)
    np.random.seed(123)  # noqa: NPY002 (the global generator is under test)
    expected_next = np.random.rand()  # noqa: NPY002
    np.random.seed(123)  # noqa: NPY002 (the global generator is under test)
    a = small(epochs=3, random_state=None).fit(x, y)
    b = small(epochs=3, random_state=None).fit(x, y)
    assert np.random.rand() == expected_next  # noqa: NPY002 (the caller's, untouched)
    assert a.seed_ != b.seed_
    assert not np.array_equal(a.predict(x), b.predict(x))
    c, d = small(epochs=3, random_state=3).fit(x, y), small(epochs=3, random_state=3).fit(x, y)
    np.testing.assert_array_equal(c.predict(x), d.predict(x))


def test_return_std_and_sample_weight():
    x, y = make_d2(n=300, seed=4)
    reg = small(epochs=5).fit(x, y, sample_weight=np.ones(300))
    mean, std = reg.predict(x, return_std=True)
    predictive = reg.predict_distribution(x)
    np.testing.assert_allclose(mean, predictive.mean, rtol=1e-6)
    np.testing.assert_allclose(std, predictive.stddev, rtol=1e-6)
    # Weighting out the rows with x > 0 is like not having them: the fit there is poor.
    weights = (x[:, 0] <= 0).astype(float)
    weighted = small(epochs=30).fit(x, y, sample_weight=weights)
    right = x[:, 0] > 0
    assert weighted.score(x[right], y[right]) < reg.set_params(epochs=30).fit(x, y).score(
        x[right], y[right]
    )
    with pytest.raises(ValueError):
        small(epochs=1).fit(x, y, sample_weight=np.ones(5))


@pytest.mark.slow
def test_fitting_on_a_shifted_and_scaled_target_gives_the_mapped_predictive():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 4))
    y = x[:, 0] - 0.5 * x[:, 1] ** 2 + (0.3 + 0.2 * np.abs(x[:, 2])) * rng.normal(size=3000)
    train, test = slice(0, 2000), slice(2000, None)
    fits = {}
    for a, b in ((1.0, 0.0), (1000.0, 5000.0)):
        reg = small(hidden=(32, 32), epochs=60).fit(x[train], a * y[train] + b)
        p = reg.predict_distribution(x[test])
        fits[a] = (
            likely.metrics.nll(a * y[test] + b, p),
            np.sqrt(np.mean((p.mean - (a * y[test] + b)) ** 2)) / a,
        )
    assert abs(fits[1000.0][0] - fits[1.0][0] - np.log(1000.0)) < 0.1
    assert abs(fits[1000.0][1] / fits[1.0][1] - 1.0) < 0.1


def test_targets_in_the_thousands_train_like_targets_near_one():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(1500, 2))
    y = 3000.0 + 200.0 * x[:, 0] + 50.0 * rng.normal(size=1500)
    reg = small(hidden=(32,), epochs=40).fit(x[:1000], y[:1000])
    p = reg.predict_distribution(x[1000:])
    assert np.sqrt(np.mean((p.mean - y[1000:]) ** 2)) < 70.0
    assert abs(likely.metrics.coverage(y[1000:], p, 0.68) - 0.68) < 0.08


def dc2_frame(n=1500):
    from likely.datasets import dc2_path, read_dc2_hdf5

    frame = read_dc2_hdf5(dc2_path("train"))
    frame = frame.iloc[np.random.default_rng(0).choice(len(frame), n, replace=False)]
    return frame.drop(columns=["id", "redshift"]), frame["redshift"].to_numpy()


def test_photometry_with_error_draws_and_nan_non_detections():
    X, z = dc2_frame()
    photometry = {"convolve_errors": True, "error_samples": 5}
    reg = small(epochs=3, photometry=photometry).fit(X, z)
    assert likely.models.is_stochastic(reg.model_)
    p = reg.predict_distribution(X.iloc[:200])
    assert p.num_members == 5
    np.testing.assert_array_equal(p.mean, reg.predict(X.iloc[:200]))  # seeded by random_state
    nan = X.iloc[:200].copy()
    missing = nan["mag_u_lsst"] >= 99
    assert missing.any()
    nan.loc[missing, ["mag_u_lsst", "mag_err_u_lsst"]] = np.nan
    np.testing.assert_array_equal(reg.predict(nan), p.mean)
    # The features are those of `likely train`: colours, errors, detection flags.
    from likely.experiment import find_feature_pipeline

    names = find_feature_pipeline(reg.model_).feature_names()
    assert names[:2] == ["mag_i_lsst", "mag_u_lsst-mag_g_lsst"] and "detected(mag_u_lsst)" in names


def test_photometry_needs_named_columns():
    X, z = dc2_frame(100)
    with pytest.raises(TypeError, match="pandas DataFrame"):
        small(photometry={}).fit(X.to_numpy(), z)
    with pytest.raises(ValueError, match=r"lacks the photometry columns \['mag_y_lsst'"):
        small(photometry={}).fit(X.drop(columns=["mag_y_lsst"]), z)
    with pytest.raises(ValueError, match="error_samples"):
        small(photometry={"error_samples": -2}).fit(X, z)


def test_tracked_fit_is_quiet_in_a_fresh_process(tmp_path):
    import os
    import subprocess
    import sys

    script = (
        "import likely\n"
        "x, y = likely.datasets.make_d2(n=100, seed=0)\n"
        "likely.ProbabilisticRegressor(hidden=(4,), epochs=2, random_state=0).fit(x, y)\n"
    )
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'runs.db'}"}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    assert (tmp_path / "runs.db").exists()  # it did track, into a new database
    assert "INFO" not in done.stderr and "INFO" not in done.stdout


def test_defaults_are_the_defaults_of_likely_train():
    from likely.experiment import DataConfig, EvaluationConfig, ModelConfig, TrainingConfig

    estimator = likely.ProbabilisticRegressor()
    model, training = estimator._configs()
    assert model == ModelConfig()
    assert training.model_dump(exclude={"seed"}) == TrainingConfig().model_dump(exclude={"seed"})
    assert estimator.validation_fraction == DataConfig.model_fields["validation_fraction"].default
    assert estimator.recalibrate == EvaluationConfig().recalibrate
