"""Scale-and-broaden recalibration: two parameters fitted by likelihood on held-out data."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from scipy import optimize
from scipy.special import logsumexp

from likely.calibration._isotonic import NotFittedError
from likely.distributions import MixtureNormal, affine
from likely.metrics import _numeric
from likely.models import Predictive

_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)


class ScaleRecalibrator:
    """Rescales a predictive about its mean and adds noise, fitted by held-out likelihood.

    The recalibrated predictive is the distribution of `m + s (Y - m) + e`,
    with `Y` the model's predictive, `m` its mean and `e ~ N(0, tau^2)`:
    every mixture component keeps its weight, its location moves to
    `m + s (loc - m)` and its scale becomes `sqrt(s^2 scale^2 + tau^2)`.
    `s` corrects a predictive that is uniformly too narrow or too wide (the
    regression analogue of temperature scaling); `tau` is a floor for
    objects whose predicted spread collapsed, as a network trained long by
    likelihood does on points near its training data. Both are fitted by
    maximizing the likelihood of held-out `(predictive, y)` pairs; the mean
    is unchanged.

    Fit on data that were not used to train the model, then `transform` any
    predictive of the same model.

    Normal families (normals, normal mixtures, ensembles of them) get both
    parameters in closed form. Other families on the real line (Student-t,
    mixtures of them, ...) get `s` only (`tau = 0`, an affine map of the
    predictive about its mean); families with a bounded or positive support
    are refused (a rescaled predictive would leave the support): use
    `IsotonicRecalibrator` for them.

    Args:
        broaden: Fit `tau` (default); False keeps `tau = 0` and fits `s` only.

    Attributes:
        scale_: The fitted `s`.
        noise_: The fitted `tau`, in the units of the target.
        n_samples_: Number of calibration points.

    Example:
        >>> import numpy as np, likely
        >>> rng = np.random.default_rng(0)
        >>> narrow = likely.distributions.Normal(np.zeros(2000), np.full(2000, 0.5))
        >>> recal = likely.calibration.ScaleRecalibrator(broaden=False)
        >>> round(recal.fit(narrow, rng.normal(size=2000)).scale_, 1)
        2.0
        >>> round(float(recal.transform(narrow).stddev[0]), 1)
        1.0
    """

    def __init__(self, broaden: bool = True) -> None:
        self.broaden = broaden

    def fit(self, predictive: Any, y: Any) -> ScaleRecalibrator:
        """Fits `s` (and `tau`) on held-out `(predictive, y)` pairs; returns self."""
        p = _check_plain(_numeric.as_predictive(predictive))
        y = _numeric.check_y_true(y, _numeric.check_scalar_batch(p), name="y")
        if not _numeric.is_normal_family(p.distribution):
            return self._fit_affine(p, y)
        mixture = _numeric.mixture_of(p.distribution)
        mean = mixture.mean
        spread = float(np.sqrt(np.mean(mixture.variance)))
        offset = mixture.loc - mean[:, None]
        residual = (y - mean)[:, None]

        def nll(theta: np.ndarray) -> float:
            s = np.exp(theta[0])
            tau = spread * np.exp(theta[1]) if self.broaden else 0.0
            variance = s**2 * mixture.scale**2 + tau**2
            log_terms = (
                mixture.log_weights
                - 0.5 * np.log(variance)
                - _LOG_SQRT_2PI
                - 0.5 * (residual - s * offset) ** 2 / variance
            )
            return -float(np.mean(logsumexp(log_terms, axis=1)))

        start = np.array([0.0, np.log(1e-3)])
        bounds = [(-7.0, 7.0), (-12.0, 3.0)]
        if not self.broaden:
            start, bounds = start[:1], bounds[:1]
        # With a floor, start both without and with a large one: two basins are possible.
        guesses = [start] + ([np.array([0.0, 0.0])] if self.broaden else [])
        results = [optimize.minimize(nll, g, method="L-BFGS-B", bounds=bounds) for g in guesses]
        best = min(results, key=lambda result: result.fun)
        self.scale_ = float(np.exp(best.x[0]))
        self.noise_ = float(spread * np.exp(best.x[1])) if self.broaden else 0.0
        self.n_samples_ = int(y.size)
        return self

    def _fit_affine(self, p: Predictive, y: np.ndarray) -> ScaleRecalibrator:
        """`s` by held-out likelihood for any family on the real line (no noise floor)."""
        _check_real_line(p)
        mean = np.asarray(p.mean, dtype=np.float64)

        def nll(theta: np.ndarray) -> float:
            s = float(np.exp(theta[0]))
            z = mean + (y - mean) / s
            return -float(np.mean(np.asarray(p.log_prob(z), dtype=np.float64))) + theta[0]

        best = optimize.minimize_scalar(
            lambda t: nll(np.array([t])), bounds=(-7.0, 7.0), method="bounded",
            options={"xatol": 1e-6},
        )  # fmt: skip
        self.scale_ = float(np.exp(best.x))
        self.noise_ = 0.0
        self.n_samples_ = int(y.size)
        return self

    def transform(self, predictive: Any) -> Predictive:
        """The recalibrated predictive, a `Predictive` with the same members."""
        if not hasattr(self, "scale_"):
            raise NotFittedError(
                "This ScaleRecalibrator is not fitted yet: call fit(predictive, y) first."
            )
        p = _check_plain(_numeric.as_predictive(predictive))
        _numeric.check_scalar_batch(p)
        if not _numeric.is_normal_family(p.distribution):
            _check_real_line(p)
            mean = np.asarray(p.mean, dtype=keras.backend.floatx())
            shift = (1.0 - self.scale_) * mean
            members = None
            if p.members is not None:
                members = affine(p.members, shift[:, None], self.scale_)
            return Predictive(affine(p.distribution, shift, self.scale_), members=members)
        mixture = _numeric.mixture_of(p.distribution)
        mean = mixture.mean[:, None]
        dtype = keras.backend.floatx()
        distribution = MixtureNormal(
            mixture.log_weights.astype(dtype),
            (mean + self.scale_ * (mixture.loc - mean)).astype(dtype),
            np.sqrt(self.scale_**2 * mixture.scale**2 + self.noise_**2).astype(dtype),
        )
        return Predictive(distribution, num_members=p.num_members)

    def fit_transform(self, predictive: Any, y: Any) -> Predictive:
        """`fit(predictive, y)` then `transform(predictive)` (for inspection, not evaluation)."""
        return self.fit(predictive, y).transform(predictive)

    def get_config(self) -> dict[str, Any]:
        """The fitted parameters, as stored in a model's head (JSON-serializable)."""
        if not hasattr(self, "scale_"):
            raise NotFittedError("This ScaleRecalibrator is not fitted yet.")
        return {"kind": "scale", "scale": self.scale_, "noise": self.noise_,
                "n_samples": self.n_samples_}  # fmt: skip

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ScaleRecalibrator:
        """The fitted recalibrator that `get_config` describes."""
        recalibrator = cls(broaden=config["noise"] > 0)
        recalibrator.scale_ = float(config["scale"])
        recalibrator.noise_ = float(config["noise"])
        recalibrator.n_samples_ = int(config.get("n_samples", 0))
        return recalibrator

    def __repr__(self) -> str:
        fitted = ""
        if hasattr(self, "scale_"):
            fitted = f", scale_={self.scale_:.4g}, noise_={self.noise_:.4g}"
        return f"ScaleRecalibrator(broaden={self.broaden}{fitted})"


def _check_real_line(predictive: Predictive) -> None:
    support = predictive.support
    if support.discrete or support.is_bounded_below or support.is_bounded_above:
        raise TypeError(
            f"ScaleRecalibrator rescales a predictive about its mean, which would move mass "
            f"out of the support ({support}) of {predictive.distribution!r}. Use "
            "IsotonicRecalibrator, which keeps the support."
        )


def _check_plain(predictive: Predictive) -> Predictive:
    if type(predictive) is not Predictive:
        raise TypeError(
            "ScaleRecalibrator works on the predictive of a model (a likely.Predictive). "
            f"Received: {type(predictive).__name__}."
        )
    return predictive
