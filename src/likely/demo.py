"""`likely demo`: photometric redshifts for the DC2 sample, end to end.

Runs the packaged config `likely/experiment/dc2_photoz.yaml` (the file
`likely init` writes): trains on the vendored DC2 training file, evaluates on
the validation file, logs the run to MLflow, and sets the photo-z report beside
the published RAIL FlexZBoost numbers on the same file.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from likely.experiment import Config, parse_config

RAIL_FLEXZBOOST = {
    "sigma_iqr": 0.0208,
    "bias": 0.00027,
    "outlier_rate": 0.107,
    "pit_ks": 0.0336,
    "cde_loss": -6.73,
}
"""Published LSST DESC RAIL FlexZBoost results on the DC2 validation file."""

# Rows of the demo table: (label, key in likely.metrics.report, RAIL reference key).
DEMO_METRICS = (
    ("sigma_IQR (mode)", "sigma_iqr_mode", "sigma_iqr"),
    ("bias (mode)", "bias_mode", "bias"),
    ("outlier rate (mode, RAIL)", "outlier_rate_mode", "outlier_rate"),
    ("PIT KS", "pit_ks", "pit_ks"),
    ("CDE loss", "cde_loss", "cde_loss"),
    ("outlier rate (mode, >0.15)", "catastrophic_outlier_rate_mode", None),
    ("sigma_MAD (mode)", "sigma_mad_mode", None),
    ("NLL", "nll", None),
    ("CRPS", "crps", None),
    ("coverage of 68% intervals", "coverage_68", None),
    ("coverage of 95% intervals", "coverage_95", None),
)


def demo_config(**overrides: Any) -> Config:
    """The packaged DC2 config, with `section.field=value` style overrides.

    Example:
        >>> from likely.demo import demo_config
        >>> demo_config(training={"epochs": 3}).training.epochs
        3
    """
    text = (resources.files("likely.experiment") / "dc2_photoz.yaml").read_text()
    data = yaml.safe_load(text)
    for section, values in overrides.items():
        data.setdefault(section, {}).update(values)
    return parse_config(data, source="dc2_photoz.yaml")


DEFAULT_OUTPUT = Path("likely-demo")


def run_demo(
    output_dir: str | Path | None = None,
    epochs: int | None = None,
    seed: int = 0,
    tracking: bool = True,
    progress: bool = True,
    overwrite: bool = False,
) -> Any:
    """Trains and evaluates the DC2 photo-z model; returns the `RunResult`.

    Args:
        output_dir: Folder for the model and plots; default a new one,
            `likely-demo` (`likely-demo-2`, ... when taken). A folder that holds
            an earlier run's model is refused unless `overwrite`.
        epochs: Training epochs (default: the config's).
        seed: Seed of the whole run.
        tracking: Log the run to MLflow.
        progress: Show a progress bar.
        overwrite: Replace the model of an earlier run in `output_dir`.
    """
    from likely.experiment import check_output_folder, new_run_folder, run_training

    training: dict[str, Any] = {"seed": seed}
    if epochs is not None:
        training["epochs"] = epochs
    config = demo_config(training=training, tracking={"enabled": tracking})
    if output_dir is not None:
        check_output_folder(output_dir, overwrite)
        return run_training(config, output_dir=output_dir, progress=progress, overwrite=overwrite)
    folder = new_run_folder(DEFAULT_OUTPUT)
    try:
        return run_training(config, output_dir=folder, progress=progress)
    except BaseException:
        if not any(folder.iterdir()):
            folder.rmdir()  # nothing was written
        raise


def comparison_rows(report: dict[str, float]) -> list[tuple[str, str, str]]:
    """Rows (metric, likely, RAIL FlexZBoost) of the demo table."""
    rows = []
    for label, key, reference_key in DEMO_METRICS:
        reference = RAIL_FLEXZBOOST.get(reference_key) if reference_key else None
        value = f"{report[key]:.4g}" if key in report else "-"
        rows.append((label, value, "" if reference is None else f"{reference:.4g}"))
    return rows
