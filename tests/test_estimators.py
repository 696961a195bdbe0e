import numpy as np
import pytest
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import likely
from likely.datasets import make_d2


def small(**kwargs):
    params = {"hidden": (16, 16), "epochs": 30, "tracking": False, "random_state": 0}
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
    baseline = likely.Predictive(likely.distributions.Normal(np.full(600, y.mean()),
                                                            np.full(600, y.std())))
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

    # Every scikit-learn check applies; `score` is a log-likelihood, so the
    # estimator declares the `poor_score` tag (no R^2 > 0.5 requirement).
    check_estimator(small(epochs=2, hidden=(4,)))
