"""All metrics at once: `report` (a dict) and `report_frame` (a tidy DataFrame)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from likely.metrics import _calibration_metrics as cal
from likely.metrics import _numeric, _photoz, _scores

_DESCRIPTIONS = {
    "nll": "negative log-likelihood (mean, nats)",
    "crps": "continuous ranked probability score (mean)",
    "rmse": "root mean squared error of the predictive mean",
    "sharpness": "root mean predictive variance",
    "pit_ks": "Kolmogorov-Smirnov distance of PIT from uniform",
    "pit_ks_pvalue": "p-value of the KS test",
    "pit_cvm": "Cramer-von Mises statistic of PIT against uniform",
    "pit_cvm_pvalue": "p-value of the Cramer-von Mises test",
    "pit_ad": "Anderson-Darling statistic of PIT against uniform",
    "pit_ad_pvalue": "asymptotic p-value of the Anderson-Darling test",
    "pit_outlier_rate": "fraction of PIT < 1e-4 or > 0.9999",
    "calibration_error": "mean |observed - nominal| over quantile levels 0.01..0.99",
    "coverage": "observed coverage of the central {level} interval",
    "interval_score": "interval score of the central {level} interval",
    "bias": "median of (z_pred - z_true) / (1 + z_true), z_pred = {point}",
    "sigma_iqr": "IQR(ez) / 1.349, z_pred = {point}",
    "sigma_mad": "1.4826 MAD(ez), z_pred = {point}",
    "outlier_rate": "fraction with |ez| > max(0.06, 3 sigma_IQR), z_pred = {point}",
    "catastrophic_outlier_rate": "fraction with |ez| > 0.15, z_pred = {point}",
    "cde_loss": "CDE loss (Izbicki & Lee 2017) on the z grid",
}

_KINDS = ("regression", "photoz")


def _level_name(level: float) -> str:
    return f"{100.0 * level:g}".replace(".", "p")


def report(
    y_true: Any,
    predictive: Any,
    kind: str = "regression",
    *,
    levels: Sequence[float] = (0.68, 0.95),
    grid: Any = None,
) -> dict[str, float]:
    """Every metric of `likely.metrics` for one predictive, as a flat dict of floats.

    `kind="regression"` gives the proper scores (`nll`, `crps`), `rmse` of the
    mean, `sharpness`, the PIT uniformity tests (`pit_ks`, `pit_cvm`,
    `pit_ad` and their p-values), `pit_outlier_rate`, `calibration_error`,
    and `coverage_<L>` / `interval_score_<L>` for each level (L in percent,
    e.g. `coverage_68`). `kind="photoz"` adds the photo-z metrics of the
    mode and of the mean (`bias_mode`, `sigma_iqr_mode`, `sigma_mad_mode`,
    `outlier_rate_mode` (RAIL), `catastrophic_outlier_rate_mode` (0.15), the
    same with `_mean`) and `cde_loss` on `grid`. Each number is computed as by
    the function of the same name; the PIT is computed once. Keys are stable
    and valid MLflow metric names.

    Args:
        y_true: True values (redshifts for "photoz"), shape (n,).
        predictive: A `likely.Predictive` (batch shape (n,), scalar events)
            or a likely distribution.
        kind: "regression" or "photoz".
        levels: Central-interval levels for coverage and interval score.
        grid: Grid of `cde_loss` ("photoz" only); default 0..3 in 301 points.

    Returns:
        A dict mapping metric names to floats, in a fixed order.

    Example:
        >>> import numpy as np, likely
        >>> rng = np.random.default_rng(0)
        >>> p = likely.Predictive(likely.distributions.Normal(np.zeros(500), np.ones(500)))
        >>> r = likely.metrics.report(rng.normal(size=500), p)
        >>> sorted(r)[:4]
        ['calibration_error', 'coverage_68', 'coverage_95', 'crps']
        >>> bool(abs(r["coverage_95"] - 0.95) < 0.03)
        True
    """
    if kind not in _KINDS:
        raise ValueError(f"Argument `kind` must be one of {_KINDS}. Received: {kind!r}.")
    p = _numeric.as_predictive(predictive)
    y = _numeric.check_y_true(y_true, _numeric.check_scalar_batch(p))
    levels = [_numeric.check_level(level, name="levels") for level in levels]

    out: dict[str, float] = {}
    out["nll"] = _scores.nll(y, p)
    out["crps"] = _scores.crps(y, p)
    mean = _numeric.mean_of(p)
    out["rmse"] = float(np.sqrt(np.mean((mean - y) ** 2)))
    out["sharpness"] = _scores.sharpness(p)

    u = cal.pit(y, p)
    for name, value in cal.uniformity_tests(u).items():
        out[f"pit_{name}"] = value
    out["pit_outlier_rate"] = float(np.mean((u < 1e-4) | (u > 1.0 - 1e-4)))
    observed = np.mean(u[None, :] <= cal.DEFAULT_LEVELS[:, None], axis=1)
    out["calibration_error"] = float(np.mean(np.abs(observed - cal.DEFAULT_LEVELS)))

    if levels:
        probs = np.array([[0.5 - lv / 2 for lv in levels] + [0.5 + lv / 2 for lv in levels]])
        bounds = np.asarray(p.quantile(probs.T), dtype=np.float64)  # (2L, n)
    for i, level in enumerate(levels):
        key = _level_name(level)
        out[f"coverage_{key}"] = float(np.mean(np.abs(u - 0.5) <= level / 2.0))
        lower, upper = bounds[i], bounds[len(levels) + i]
        out[f"interval_score_{key}"] = _scores.interval_score(y, (lower, upper), level)

    if kind == "photoz":
        points = {"mode": _photoz.point_estimate(p, "mode"), "mean": mean}
        for point, z_pred in points.items():
            out[f"bias_{point}"] = _photoz.bias(y, z_pred)
            out[f"sigma_iqr_{point}"] = _photoz.sigma_iqr(y, z_pred)
            out[f"sigma_mad_{point}"] = _photoz.sigma_mad(y, z_pred)
            out[f"outlier_rate_{point}"] = _photoz.outlier_rate(y, z_pred, "rail")
            out[f"catastrophic_outlier_rate_{point}"] = _photoz.outlier_rate(
                y, z_pred, _photoz.CATASTROPHIC_THRESHOLD
            )
        out["cde_loss"] = _photoz.cde_loss(y, p, grid)
    return out


def _describe(metric: str) -> str:
    for suffix in ("_mode", "_mean"):
        if metric.endswith(suffix) and metric[: -len(suffix)] in _DESCRIPTIONS:
            return _DESCRIPTIONS[metric[: -len(suffix)]].format(point=suffix[1:])
    for prefix in ("coverage_", "interval_score_"):
        if metric.startswith(prefix):
            level = metric[len(prefix) :].replace("p", ".")
            return _DESCRIPTIONS[prefix[:-1]].format(level=f"{level}%")
    return _DESCRIPTIONS.get(metric, "")


def report_frame(report: Mapping[str, float], name: str | None = None) -> Any:
    """A `report` as a tidy pandas DataFrame: one row per metric.

    Columns `metric`, `value`, `description` (and `name` first when given, so
    that frames of several models concatenate with `pandas.concat`).

    Args:
        report: A dict from `likely.metrics.report` (or any metric -> float mapping).
        name: Optional label of the model or run, repeated on every row.

    Returns:
        A `pandas.DataFrame`.

    Example:
        >>> import likely
        >>> frame = likely.metrics.report_frame({"crps": 0.25, "coverage_68": 0.7}, name="mdn")
        >>> frame.columns.tolist()
        ['name', 'metric', 'value', 'description']
        >>> frame["description"].iloc[1]
        'observed coverage of the central 68% interval'
    """
    import pandas as pd

    if not isinstance(report, Mapping):
        raise TypeError(
            f"Argument `report` must be a mapping of metric names to numbers, as returned by "
            f"likely.metrics.report. Received: {type(report).__name__}."
        )
    frame = pd.DataFrame(
        {
            "metric": list(report),
            "value": [float(v) for v in report.values()],
            "description": [_describe(str(k)) for k in report],
        }
    )
    if name is not None:
        frame.insert(0, "name", name)
    return frame
