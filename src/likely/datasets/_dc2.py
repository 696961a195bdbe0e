"""The DC2 photometric-redshift sample shipped with likely (LSST DESC, MIT licence).

Two HDF5 files of simulated LSST galaxies (cosmoDC2, mock 10-year errors),
vendored from the RAIL test data: 10,225 training and 20,449 validation rows,
group `photometry`, columns `id`, `mag_{u,g,r,i,z,y}_lsst`,
`mag_err_{u,g,r,i,z,y}_lsst` and `redshift`. See `data/LICENSE`.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

BANDS = ("u", "g", "r", "i", "z", "y")
NONDETECTION_MAGNITUDE = 99.0
# The magnitude error of a source at signal-to-noise 1: 2.5 / ln(10).
NONDETECTION_ERROR = 2.5 / np.log(10.0)

_FILES = {
    "train": "test_dc2_training_9816.hdf5",
    "validation": "test_dc2_validation_9816.hdf5",
}
_POLICIES = ("limit", "nan")


def dc2_path(split: str) -> Path:
    """Path of the vendored HDF5 file of `split` ("train" or "validation")."""
    if split not in _FILES:
        raise ValueError(
            f"Argument `split` must be one of {sorted(_FILES)}. Received: split={split!r}"
        )
    return Path(str(resources.files("likely.datasets") / "data" / _FILES[split]))


def read_dc2_hdf5(path: str | Path) -> pd.DataFrame:
    """Reads a DC2-layout HDF5 file (group `photometry`, one dataset a column)."""
    from likely.io import read_table

    return read_table(path, format="hdf5", group="photometry")


def load_dc2(split: str = "train", nondetection: str = "limit") -> pd.DataFrame:
    """Loads the vendored DC2 photo-z sample as a DataFrame.

    Non-detections are stored in the files as magnitude 99.0, which must never
    reach a network as if it were a brightness. The catalogue stores in the
    error column of every non-detection one constant per band (26.62 in u,
    28.32 in g), which likely reads as that band's limiting magnitude.

    Args:
        split: "train" (10,225 rows) or "validation" (20,449 rows).
        nondetection: "limit" (default) replaces a 99.0 magnitude by the band's
            limiting magnitude and its error by 2.5/ln 10 (signal-to-noise 1);
            "nan" sets both to NaN for a policy of your own. Either way a
            boolean column `detected_<band>` says which values were measured.

    Returns:
        Columns `id`, `mag_<b>_lsst`, `mag_err_<b>_lsst`, `detected_<b>` for
        the six bands, and `redshift`.

    Example:
        >>> from likely.datasets import load_dc2
        >>> df = load_dc2("train")
        >>> len(df), int((~df.detected_u).sum()), float(df.mag_u_lsst.max()) < 99
        (10225, 714, True)
    """
    if nondetection not in _POLICIES:
        raise ValueError(
            f"Argument `nondetection` must be one of {_POLICIES}. "
            f"Received: nondetection={nondetection!r}"
        )
    frame = read_dc2_hdf5(dc2_path(split))
    return replace_nondetections(frame, policy=nondetection)


def replace_nondetections(frame: pd.DataFrame, policy: str = "limit") -> pd.DataFrame:
    """Applies a non-detection policy to magnitude columns `mag_<b>_lsst` (see `load_dc2`)."""
    frame = frame.copy()
    for band in BANDS:
        mag, err = f"mag_{band}_lsst", f"mag_err_{band}_lsst"
        if mag not in frame:
            continue
        missing = frame[mag].to_numpy() >= NONDETECTION_MAGNITUDE
        frame[f"detected_{band}"] = ~missing
        if not missing.any():
            continue
        mag_values = frame[mag].to_numpy(dtype=float, copy=True)
        err_values = frame[err].to_numpy(dtype=float, copy=True)
        if policy == "nan":
            mag_values[missing] = np.nan
            err_values[missing] = np.nan
        else:
            limits = np.unique(err_values[missing])
            if len(limits) != 1 or not 15.0 < limits[0] < 35.0:
                raise ValueError(
                    f"Cannot read the limiting magnitude of band {band!r}: the error column "
                    f"of its non-detections holds {limits[:5]!r}, not one magnitude. "
                    "Use nondetection='nan' and a policy of your own."
                )
            mag_values[missing] = limits[0]
            err_values[missing] = NONDETECTION_ERROR
        frame[mag] = mag_values.astype(frame[mag].dtype)
        frame[err] = err_values.astype(frame[err].dtype)
    return frame
