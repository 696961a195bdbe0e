"""The documentation site builds from the checkout: `mkdocs build --strict`, pages executed."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_site_builds_strict_with_the_api_tutorials_and_guides(tmp_path):
    site = tmp_path / "site"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "MPLBACKEND": "Agg"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]

    def page(name):
        return (site / name).read_text(encoding="utf-8")

    layers = page("reference/layers.html")
    for name in ("IndependentNormal", "MixtureNormal", "DistributionLambda", "EnsembleDense"):
        assert f"likely.layers.{name}" in layers
    assert "predict_distribution" in page("reference/models.html")
    assert "ProbabilisticRegressor" in page("reference/estimators.html")
    assert "MlflowLogger" in page("reference/callbacks.html")
    assert "DistributionLambda" in page("migrating-from-tfp.html")
    photoz = page("tutorials/photoz-dc2.html")
    assert "sigma_iqr" in photoz.lower() and "<table>" in photoz  # the executed metrics table
    assert "SLURM" in page("how-to/scale-out.html")
    # Executed pages leave nothing in the checkout.
    assert not (ROOT / "docs" / "likely-runs").exists()
