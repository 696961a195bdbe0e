"""Photometric features for photo-z networks: a reference magnitude, colours and errors."""

from __future__ import annotations

import numpy as np
import pandas as pd

from likely.datasets._dc2 import BANDS, NONDETECTION_ERROR


def photometry_features(
    frame: pd.DataFrame,
    bands: tuple[str, ...] = BANDS,
    reference_band: str = "i",
    template: str = "mag_{band}_lsst",
    error_template: str = "mag_err_{band}_lsst",
) -> pd.DataFrame:
    """Builds network features from magnitudes: one magnitude, adjacent colours, errors.

    Colours (`u-g`, `g-r`, ...) carry the redshift information; the reference
    magnitude sets the brightness; errors (clipped at signal-to-noise 1,
    2.5/ln 10 mag, beyond which a magnitude is noise) tell the network how
    far to trust each colour. `detected_<band>` flags, when present, are kept
    as 0/1 features. Magnitudes must already have had their non-detections
    replaced (see `likely.datasets.load_dc2`).

    Args:
        frame: Table with magnitude and error columns.
        bands: Bands in wavelength order.
        reference_band: Band whose magnitude is kept as a feature.
        template: Magnitude column name pattern.
        error_template: Error column name pattern.

    Returns:
        A float32 DataFrame of features, one row per input row.

    Example:
        >>> from likely.datasets import load_dc2, photometry_features
        >>> list(photometry_features(load_dc2("train")).columns)[:3]
        ['mag_i', 'u-g', 'g-r']
    """
    missing = [
        name
        for band in bands
        for name in (template.format(band=band), error_template.format(band=band))
        if name not in frame
    ]
    if missing:
        raise ValueError(
            f"Missing photometry columns {missing}. Available columns: {list(frame.columns)}"
        )
    mags = {band: frame[template.format(band=band)].to_numpy(dtype=float) for band in bands}
    if any(np.nanmax(m) >= 99.0 for m in mags.values()):
        raise ValueError(
            "Magnitudes of 99 (non-detections) must be replaced before building features; "
            "see likely.datasets.replace_nondetections."
        )
    features = {f"mag_{reference_band}": mags[reference_band]}
    for blue, red in zip(bands[:-1], bands[1:], strict=True):
        features[f"{blue}-{red}"] = mags[blue] - mags[red]
    for band in bands:
        error = frame[error_template.format(band=band)].to_numpy(dtype=float)
        features[f"err_{band}"] = np.minimum(error, NONDETECTION_ERROR)
    for band in bands:
        flag = f"detected_{band}"
        if flag in frame:
            features[flag] = frame[flag].to_numpy(dtype=float)
    return pd.DataFrame(features, index=frame.index).astype("float32")
