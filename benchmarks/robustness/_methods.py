"""The methods compared on every split: likely's defaults, NGBoost's defaults, a constant.

Each method fits on a split's raw training rows and returns its predictive
of the test rows: a `likely.Predictive` (likely), or the parameters of a
normal per row (NGBoost, the constant baseline), which are scored by an
implementation independent of likely (`_scoring`).

Only switches that do not change the model are set: the seed (for
reproducibility; the estimator's `random_state`, NGBoost's `random_state`),
tracking off (likely would log every fit to MLflow in the working
directory) and NGBoost's progress printing off. Quick mode (smoke runs)
trains for a few epochs / boosting rounds and is NOT the defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

QUICK_EPOCHS = 2
QUICK_ROUNDS = 20


@dataclass(frozen=True)
class NormalPrediction:
    """A normal predictive per row, in float64."""

    loc: np.ndarray
    scale: np.ndarray


Prediction = Any  # likely.Predictive | NormalPrediction


@dataclass(frozen=True)
class Method:
    """A named way of fitting a split; `fit_predict(x, y, x_test, seed, quick)`."""

    name: str
    description: str
    family: str  # "likely", "normal" (independent scoring) or "truth"

    def fit_predict(
        self, x: np.ndarray, y: np.ndarray, x_test: np.ndarray, seed: int, quick: bool
    ) -> Prediction:
        return FIT[self.name](x, y, x_test, seed, quick)


def likely_estimator(seed: int, quick: bool, **model: Any) -> Any:
    """`likely.ProbabilisticRegressor(**model)` with the seed set and tracking off.

    Raises:
        ValueError: if the estimator lacks a parameter in `model`.
    """
    import likely

    estimator = likely.ProbabilisticRegressor(**model)
    params = estimator.get_params()
    switches: dict[str, Any] = {"random_state": seed}
    if "tracking" in params:
        switches["tracking"] = False
    if quick:
        switches["epochs"] = QUICK_EPOCHS
    return estimator.set_params(**switches)


def _likely(x, y, x_test, seed, quick):
    return likely_estimator(seed, quick).fit(x, y).predict_distribution(x_test)


def _likely_single(x, y, x_test, seed, quick):
    estimator = likely_estimator(seed, quick, ensemble_size=1)
    return estimator.fit(x, y).predict_distribution(x_test)


def _ngboost(x, y, x_test, seed, quick):
    try:
        from ngboost import NGBRegressor
    except ImportError as error:
        raise ImportError("NGBoost is missing: pip install 'likely[bench]'") from error
    settings: dict[str, Any] = {"verbose": False, "random_state": seed}
    if quick:
        settings["n_estimators"] = QUICK_ROUNDS
    params = NGBRegressor(**settings).fit(x, y).pred_dist(x_test).params
    return NormalPrediction(
        np.asarray(params["loc"], dtype=np.float64), np.asarray(params["scale"], dtype=np.float64)
    )


def _constant(x, y, x_test, seed, quick):
    n = len(x_test)
    return NormalPrediction(np.full(n, float(np.mean(y))), np.full(n, float(np.std(y))))


FIT = {
    "likely": _likely,
    "likely-single": _likely_single,
    "ngboost": _ngboost,
    "constant": _constant,
}

METHODS: dict[str, Method] = {
    "likely": Method("likely", "likely.ProbabilisticRegressor() defaults, raw X and y", "likely"),
    "likely-single": Method(
        "likely-single",
        "likely.ProbabilisticRegressor(ensemble_size=1): one network, other defaults",
        "likely",
    ),
    "ngboost": Method("ngboost", "ngboost.NGBRegressor() defaults (Normal, 500 rounds)", "normal"),
    "constant": Method(
        "constant", "Normal(training mean, training std), the same for every row", "normal"
    ),
}
"""The compared methods, by name, in table order."""
