"""Scoring someone else's qp file: a FlexZBoost-style gridded file made from a known mixture."""

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import scoringrules
from scipy import stats

from likely.errors import DataError
from likely.experiment import evaluate_qp

qp = pytest.importorskip("qp")

N = 600
GRID = np.linspace(0.0, 3.0, 301)  # FlexZBoost's RAIL default: zmin 0, zmax 3, nzbins 301


@pytest.fixture(scope="module")
def known(tmp_path_factory):
    """Mixtures with known metrics, stored as FlexZBoost stores its PDFs (qp interp)."""
    rng = np.random.default_rng(5)
    weights = rng.dirichlet([4.0, 1.0], size=N)
    loc = np.sort(rng.uniform(0.6, 2.4, (N, 2)), axis=1)
    scale = rng.uniform(0.1, 0.25, (N, 2))
    pick = rng.uniform(size=N) < weights[:, 1]
    z = rng.normal(np.where(pick, loc[:, 1], loc[:, 0]), np.where(pick, scale[:, 1], scale[:, 0]))
    z = np.clip(z, 0.05, 2.95)
    pdfs = np.sum(
        weights[:, None] * stats.norm.pdf(GRID[None, :, None], loc[:, None], scale[:, None]),
        axis=-1,
    )
    folder = tmp_path_factory.mktemp("fzb")
    qp.Ensemble(qp.interp, data=dict(xvals=GRID, yvals=pdfs)).write_to(str(folder / "fzb.hdf5"))
    ids = np.arange(N) * 3 + 11
    pd.DataFrame({"id": ids, "redshift": z}).to_parquet(folder / "truth.parquet")
    return folder, weights, loc, scale, z, ids


def test_gridded_file_gets_the_known_metrics(known):
    folder, weights, loc, scale, z, _ = known
    result = evaluate_qp(folder / "fzb.hdf5", str(folder / "truth.parquet"))
    r = result.report
    # References from SciPy and scoringrules on the mixtures themselves; the tolerances
    # are the 301-point grid's interpolation error (h = 0.01).
    cdf = np.sum(weights * stats.norm.cdf(z[:, None], loc, scale), axis=1)
    pdf = np.sum(weights * stats.norm.pdf(z[:, None], loc, scale), axis=1)
    assert r["pit_ks"] == pytest.approx(stats.kstest(cdf, "uniform").statistic, abs=5e-4)
    assert r["crps"] == pytest.approx(
        scoringrules.crps_mixnorm(z, loc, scale, weights, backend="numpy").mean(), rel=1e-4
    )
    assert r["nll"] == pytest.approx(-np.log(pdf).mean(), abs=2e-3)
    assert r["coverage_68"] == pytest.approx(np.mean(np.abs(cdf - 0.5) <= 0.34), abs=3 / N)
    fine = np.linspace(0.0, 3.0, 30001)
    mode = fine[
        np.argmax(
            np.sum(
                weights[:, None]
                * stats.norm.pdf(fine[None, :, None], loc[:, None], scale[:, None]),
                axis=-1,
            ),
            axis=1,
        )
    ]
    ez = (mode - z) / (1 + z)
    q75, q25 = np.percentile(ez, [75, 25])
    assert r["sigma_iqr_mode"] == pytest.approx((q75 - q25) / 1.349, abs=3e-3)
    assert r["bias_mode"] == pytest.approx(np.median(ez), abs=3e-3)
    # int p^2 in closed form: sum_jk w_j w_k N(mu_j; mu_k, s_j^2 + s_k^2).
    pair = stats.norm.pdf(
        loc[:, :, None], loc[:, None, :], np.sqrt(scale[:, :, None] ** 2 + scale[:, None, :] ** 2)
    )
    squared = np.einsum("nj,nk,njk->n", weights, weights, pair)
    assert r["cde_loss"] == pytest.approx(np.mean(squared) - 2 * np.mean(pdf), abs=2e-3)


def test_rows_are_matched_by_id_or_in_order(known, tmp_path):
    folder, *_, z, ids = known
    truth = pd.read_parquet(folder / "truth.parquet")
    truth.iloc[::-1].to_parquet(tmp_path / "reversed.parquet")
    in_order = evaluate_qp(folder / "fzb.hdf5", str(folder / "truth.parquet")).report
    # The gridded file has no ancillary id: a reversed table is matched in order, wrongly,
    # which only ids could tell; with ids in the file, --id-column matches them.
    ensemble = qp.read(str(folder / "fzb.hdf5"))
    ensemble.set_ancil({"id": ids})
    ensemble.write_to(str(tmp_path / "with_ids.hdf5"))
    by_id = evaluate_qp(
        tmp_path / "with_ids.hdf5", str(tmp_path / "reversed.parquet"), id_column="id"
    ).report
    assert by_id == pytest.approx(in_order)
    with pytest.raises(DataError, match="differ row by row; pass --id-column id"):
        evaluate_qp(tmp_path / "with_ids.hdf5", str(tmp_path / "reversed.parquet"))
    truth.iloc[:-1].to_parquet(tmp_path / "short.parquet")
    with pytest.raises(DataError, match=f"holds {N} PDFs and .* {N - 1} rows"):
        evaluate_qp(folder / "fzb.hdf5", str(tmp_path / "short.parquet"))
    with pytest.raises(DataError, match="1 ids of .* are not in column 'id'"):
        evaluate_qp(tmp_path / "with_ids.hdf5", str(tmp_path / "short.parquet"), id_column="id")
    with pytest.raises(DataError, match="no ancillary id"):
        evaluate_qp(folder / "fzb.hdf5", str(folder / "truth.parquet"), id_column="id")


def test_likely_evaluate_scores_a_qp_file(known):
    folder, *_ = known
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, "-m", "likely", "evaluate", "fzb.hdf5", "truth.parquet", "-o", "plots"],
        capture_output=True,
        text=True,
        cwd=folder,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    expected = evaluate_qp(folder / "fzb.hdf5", str(folder / "truth.parquet")).report
    line = next(row for row in done.stdout.splitlines() if " pit_ks " in row)
    assert float(line.split("│")[2]) == pytest.approx(expected["pit_ks"], rel=1e-4)
    assert {p.name for p in (folder / "plots").iterdir()} >= {"pit_histogram.png", "zz.png"}
