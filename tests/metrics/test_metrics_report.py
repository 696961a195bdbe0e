"""`report` gives the same numbers as the individual metrics; `report_frame` is tidy."""

import numpy as np
import pandas as pd
import pytest

import likely
from likely import metrics
from likely.distributions import MixtureNormal


@pytest.fixture(scope="module")
def photoz_case():
    rng = np.random.default_rng(5)
    n, k = 2_000, 3
    z = rng.uniform(0.05, 2.5, n)
    logits = rng.normal(size=(n, k)).astype(np.float32)
    loc = (z[:, None] + 0.05 * (1 + z[:, None]) * rng.normal(size=(n, k))).astype(np.float32)
    scale = rng.uniform(0.02, 0.1, (n, k)).astype(np.float32)
    return z, likely.Predictive(MixtureNormal(logits, loc, scale))


def test_regression_report_matches_individual_metrics(photoz_case):
    z, p = photoz_case
    r = metrics.report(z, p)
    assert r["nll"] == pytest.approx(metrics.nll(z, p))
    assert r["crps"] == pytest.approx(metrics.crps(z, p))
    assert r["rmse"] == pytest.approx(np.sqrt(np.mean((p.mean - z) ** 2)), rel=1e-5)
    assert r["sharpness"] == pytest.approx(metrics.sharpness(p))
    assert r["pit_ks"] == pytest.approx(metrics.pit_ks(z, p))
    assert r["pit_ad"] == pytest.approx(metrics.pit_ad(z, p))
    assert r["pit_cvm"] == pytest.approx(metrics.pit_cvm(z, p))
    assert r["pit_outlier_rate"] == pytest.approx(metrics.pit_outlier_rate(z, p))
    assert r["calibration_error"] == pytest.approx(metrics.calibration_error(z, p))
    for level, key in ((0.68, "68"), (0.95, "95")):
        assert r[f"coverage_{key}"] == pytest.approx(metrics.coverage(z, p, level))
        assert r[f"interval_score_{key}"] == pytest.approx(metrics.interval_score(z, p, level))
    assert "cde_loss" not in r
    assert all(isinstance(v, float) for v in r.values())


def test_photoz_report_adds_point_metrics_and_cde_loss(photoz_case):
    z, p = photoz_case
    r = metrics.report(z, p, kind="photoz", levels=(0.9,))
    mode = metrics.point_estimate(p, "mode")
    assert r["bias_mode"] == pytest.approx(metrics.bias(z, mode))
    assert r["sigma_iqr_mode"] == pytest.approx(metrics.sigma_iqr(z, mode))
    assert r["sigma_mad_mean"] == pytest.approx(metrics.sigma_mad(z, p.mean), rel=1e-5)
    assert r["outlier_rate_mode"] == pytest.approx(metrics.outlier_rate(z, mode))
    assert r["catastrophic_outlier_rate_mode"] == pytest.approx(metrics.outlier_rate(z, mode, 0.15))
    assert r["cde_loss"] == pytest.approx(metrics.cde_loss(z, p))
    assert "coverage_90" in r and "coverage_68" not in r


def test_report_frame_is_tidy_and_concatenates(photoz_case):
    z, p = photoz_case
    r = metrics.report(z, p, kind="photoz")
    frame = metrics.report_frame(r, name="mdn")
    assert list(frame.columns) == ["name", "metric", "value", "description"]
    assert frame["metric"].tolist() == list(r)
    np.testing.assert_allclose(frame["value"], list(r.values()))
    assert (frame["description"] != "").all()
    both = pd.concat([frame, metrics.report_frame(r, name="other")])
    assert both.pivot(index="metric", columns="name", values="value").shape == (len(r), 2)


def test_report_argument_errors(photoz_case):
    z, p = photoz_case
    with pytest.raises(ValueError, match="kind"):
        metrics.report(z, p, kind="classification")
    with pytest.raises(TypeError, match="y_true, predictive"):
        metrics.report(p, z)
    with pytest.raises(TypeError, match="mapping"):
        metrics.report_frame([1.0, 2.0])
