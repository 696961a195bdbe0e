"""`likely demo` and `likely tutorial` driven as a user would, in a subprocess."""

import os
import subprocess
import sys

import pytest


def run_cli(*args, cwd):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, "-m", "likely", *args], capture_output=True, text=True, cwd=cwd, env=env
    )


def test_help_lists_commands(tmp_path):
    result = run_cli("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("demo", "tutorial"):
        assert command in result.stdout


@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path):
    # A reduced-epoch smoke run; the default (200 epochs, early stopping) is the real one.
    # At 3 epochs the model is poor enough that isotonic recalibration wins, and scoring
    # an isotonic-recalibrated ensemble on 20,449 galaxies takes minutes; 12 do not.
    result = run_cli("demo", "--epochs", "12", "--quiet", "-o", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    for label in (
        "sigma_IQR (mode)",
        "bias (mode)",
        "outlier rate (mode, RAIL)",
        "PIT KS",
        "CDE loss",
        "NLL",
        "coverage of 68% intervals",
        "RAIL FlexZBoost",
        "0.0208",
    ):
        assert label in result.stdout
    assert "MLflow run" in result.stdout and (tmp_path / "mlflow.db").is_file()
    for name in ("model.keras", "pit_histogram.png", "reliability.png", "zz.png", "pdfs.png"):
        assert (tmp_path / "out" / name).stat().st_size > 0


@pytest.mark.slow
def test_tutorial_writes_its_figures(tmp_path):
    result = run_cli("tutorial", "--epochs", "2", "-o", "figs", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    pngs = sorted(p.name for p in (tmp_path / "figs").glob("*.png"))
    assert pngs == ["1_mse_d2.png", "2_gaussian_d2.png", "3_gaussian_vs_mixture_d3.png"]
    assert "Total params: 47" in result.stdout
