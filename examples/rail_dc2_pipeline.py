"""likely in a RAIL pipeline on DC2: inform -> estimate -> RAIL's evaluation, run by ceci.

    pip install "likely[rail]"
    python examples/rail_dc2_pipeline.py --output-dir rail-dc2        # writes the files, runs ceci
    python examples/rail_dc2_pipeline.py --output-dir rail-dc2 --write-only
    cd examples/rail_dc2 && ceci rail_dc2.yml      # the same pipeline, from the files committed
    python examples/rail_dc2_pipeline.py --likely-config '{"training": {"epochs": 2}}'  # quick

`LikelyDC2Pipeline` is a RAIL 2.x `RailPipeline`: `LikelyInformer` trains on
the DC2 training file shipped with likely (10,225 galaxies) with the DC2 job's
settings (`likely init`), `LikelyEstimator` predicts the validation file (20,449
galaxies) as a qp ensemble, and RAIL's `SingleEvaluator` scores it (PIT, CDE
loss and the point statistics of `zmode`). The script writes the ceci pipeline
file `rail_dc2.yml` and its stage config `rail_dc2_config.yml` into
`--output-dir`, runs `ceci rail_dc2.yml` there, and prints RAIL's numbers
beside `likely.metrics` on the same qp file.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from rail.core.stage import RailPipeline
from rail.evaluation.single_evaluator import SingleEvaluator

from likely.datasets import dc2_path
from rail.estimation.algos.likely import LikelyEstimator, LikelyInformer


class LikelyDC2Pipeline(RailPipeline):
    """Inform likely on DC2's training file, estimate its validation file, evaluate."""

    default_input_dict = dict(
        input_train=str(dc2_path("train")), input_test=str(dc2_path("validation"))
    )

    def __init__(self, likely_config: dict | None = None) -> None:
        RailPipeline.__init__(self)
        self.inform_likely = LikelyInformer.build(
            aliases=dict(input="input_train"),
            hdf5_groupname="photometry",
            id_col="id",
            likely_config=likely_config or {},
        )
        self.estimate_likely = LikelyEstimator.build(
            aliases=dict(input="input_test"),
            connections=dict(model=self.inform_likely.io.model),
            hdf5_groupname="photometry",
            id_col="id",
            chunk_size=10_000,
        )
        self.evaluate_likely = SingleEvaluator.build(
            aliases=dict(truth="input_test"),
            connections=dict(input=self.estimate_likely.io.output),
            point_estimates=["zmode"],
            truth_point_estimates=["redshift"],
            metrics=["all"],
            # Distribution-to-distribution metrics need a true PDF; "outlier" (each PDF's
            # mass beyond CDF 1e-4 / 0.9999) loops over the PDFs in Python (4 minutes);
            # qp 1.1's "brier" squares density values as if they were bin probabilities.
            exclude_metrics=[
                "kld",
                "rmse",
                "ks",
                "ad",
                "cvm",
                "moment",
                "rbpe",
                "outlier",
                "brier",
            ],
            metric_config=dict(
                cdeloss=dict(eval_grid=[round(0.01 * i, 2) for i in range(301)]),  # 0..3
            ),
            hdf5_groupname="photometry",
            # Chunks of 2,000 PDFs: qp evaluates a whole chunk's mixtures on the grid at
            # once, (n, 301, 50) floats for the 5 x 10-component ensemble (one chunk of all
            # 20,449 needed over 18 GB). Point statistics and PIT are then t-digest sketches.
            force_exact=False,
            chunk_size=2_000,
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, default=Path("rail-dc2"))
    parser.add_argument("--write-only", action="store_true", help="Write the files, run nothing.")
    parser.add_argument(
        "--likely-config", default="{}", help="YAML/JSON of likely config sections to change."
    )
    args = parser.parse_args(argv)
    folder = args.output_dir.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    import yaml

    pipeline = LikelyDC2Pipeline(yaml.safe_load(args.likely_config))
    pipeline.initialize(
        LikelyDC2Pipeline.default_input_dict,
        dict(output_dir=str(folder), log_dir=str(folder), resume=False),
        None,
    )
    pipeline.save(str(folder / "rail_dc2.yml"))
    relative_paths(folder / "rail_dc2.yml")
    print(f"wrote {folder / 'rail_dc2.yml'} and {folder / 'rail_dc2_config.yml'}")
    if args.write_only:
        return
    ceci = [sys.executable, "-c", "from ceci.main import main; main()", "rail_dc2.yml"]
    subprocess.run(ceci, cwd=folder, check=True)
    report(folder)


def relative_paths(pipeline_file: Path) -> None:
    """Paths in the pipeline file relative to its folder, so that the folder can move."""
    import os

    import yaml

    folder = pipeline_file.parent
    spec = yaml.safe_load(pipeline_file.read_text())
    for key in ("output_dir", "log_dir", "config"):
        spec[key] = os.path.relpath(spec[key], folder)
    spec["inputs"] = {k: os.path.relpath(v, folder) for k, v in spec["inputs"].items()}
    pipeline_file.write_text(yaml.safe_dump(spec, sort_keys=False))


def report(folder: Path) -> dict[str, tuple[float, float]]:
    """RAIL's numbers (its evaluator's summary, qp's PIT tests) beside `likely.metrics`."""
    import numpy as np
    import qp
    import tables_io
    from qp.metrics.pit import PIT

    from likely import io, metrics

    summary = tables_io.read(str(folder / "summary_evaluate_likely.hdf5"))
    rail = {name: float(np.ravel(value)[0]) for name, value in summary.items()}
    ensemble = qp.read(str(folder / "output_estimate_likely.hdf5"))
    truth = io.read_table(dc2_path("validation"), columns=["redshift"])["redshift"].to_numpy()
    pit = PIT(ensemble, truth)
    rail["pit_ks"] = float(pit.evaluate_PIT_KS().statistic)
    rail["pit_cvm"] = float(pit.evaluate_PIT_CvM().statistic)
    predictive, _ = io.read_qp(folder / "output_estimate_likely.hdf5")
    ours = metrics.report(truth, predictive, kind="photoz")
    pairs = {
        "PIT KS": (rail["pit_ks"], ours["pit_ks"]),
        "PIT CvM": (rail["pit_cvm"], ours["pit_cvm"]),
        "CDE loss (grid 0..3, 301)": (rail["cdeloss_redshift"], ours["cde_loss"]),
        "sigma_IQR (zmode)": (rail["point_stats_iqr_zmode_redshift"], ours["sigma_iqr_mode"]),
        "bias (zmode)": (rail["point_bias_zmode_redshift"], ours["bias_mode"]),
        "outlier rate (zmode)": (
            rail["point_outlier_rate_zmode_redshift"],
            ours["outlier_rate_mode"],
        ),
        "sigma_MAD (zmode)": (
            rail["point_stats_sigma_mad_zmode_redshift"],
            ours["sigma_mad_mode"],
        ),
    }
    print("| metric | RAIL / qp | likely.metrics |\n|---|---|---|")
    for name, (theirs, mine) in pairs.items():
        print(f"| {name} | {theirs:.5g} | {mine:.5g} |")
    print(f"| coverage 68% / 95% | | {ours['coverage_68']:.3f} / {ours['coverage_95']:.3f} |")
    return pairs


if __name__ == "__main__":
    main()
