"""`FeaturePipeline`: the preprocessing that is saved inside a trained model.

`likely train` puts this layer first in every model it builds, so `likely
predict` applies exactly what training did: it knows the input column names
and order, replaces non-detections by limiting magnitudes (with a detection
flag), derives colours and clips photometric errors. Standardization follows
in a `keras.layers.Normalization` layer.
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
from keras import ops

# Error of a magnitude at signal-to-noise 1 (2.5 / ln 10): a larger error is noise.
MAX_MAGNITUDE_ERROR = 2.5 / math.log(10.0)


@keras.saving.register_keras_serializable(package="likely")
class FeaturePipeline(keras.layers.Layer):
    """Turns raw table columns into network features, inside the model.

    Inputs are the columns `input_columns`, in that order. Without
    photometry, the layer passes them through. With `photometry`, the first
    2B inputs are the magnitudes and errors of B bands (as listed in
    `photometry["magnitudes"]` and `photometry["errors"]`), and the outputs are:
    the reference-band magnitude, the B-1 adjacent colours, the B errors
    (clipped at 2.5/ln 10), one detection flag per band that has a limiting
    magnitude, then the other inputs unchanged.

    A magnitude at or above `photometry["nondetection_value"]` (99 in LSST
    catalogues) is a non-detection: it is replaced by that band's limiting
    magnitude, its error by 2.5/ln 10, and its flag set to 0.

    Args:
        input_columns: Names of the raw input columns, in order.
        photometry: None, or a dict with keys `magnitudes`, `errors` (lists of
            column names, one per band in wavelength order), `reference` (index
            of the reference band), `nondetection_value` and `limits` (dict
            from magnitude column to limiting magnitude).
        target: Name of the target column (kept for evaluation).
        id_column: Name of the identifier column (passed through by `likely predict`).
        **kwargs: Base layer arguments.

    Example:
        >>> import numpy as np
        >>> from likely.experiment import FeaturePipeline
        >>> layer = FeaturePipeline(["m_g", "m_r", "e_g", "e_r"], photometry={
        ...     "magnitudes": ["m_g", "m_r"], "errors": ["e_g", "e_r"], "reference": 1,
        ...     "nondetection_value": 99.0, "limits": {"m_g": 27.0}})
        >>> out = np.asarray(layer(np.array([[99.0, 24.0, 1.0, 0.1]], "float32")), dtype=float)
        >>> out.round(3).tolist()  # i mag, g-r (g at its limit), errors, detected(g)
        [[24.0, 3.0, 1.086, 0.1, 0.0]]
    """

    def __init__(
        self,
        input_columns: list[str],
        photometry: dict[str, Any] | None = None,
        target: str | None = None,
        id_column: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.input_columns = [str(c) for c in input_columns]
        self.photometry = None if photometry is None else dict(photometry)
        self.target = target
        self.id_column = id_column
        if self.photometry is not None:
            mags, errs = self.photometry["magnitudes"], self.photometry["errors"]
            expected = list(mags) + list(errs)
            if self.input_columns[: len(expected)] != expected:
                raise ValueError(
                    "FeaturePipeline expects the magnitude then error columns first. "
                    f"Received: input_columns={self.input_columns}, photometry columns {expected}."
                )

    @property
    def output_size(self) -> int:
        if self.photometry is None:
            return len(self.input_columns)
        bands = len(self.photometry["magnitudes"])
        flags = len(self.photometry.get("limits", {}))
        return 1 + (bands - 1) + bands + flags + len(self.input_columns) - 2 * bands

    def call(self, inputs: Any) -> Any:
        if self.photometry is None:
            return inputs
        p = self.photometry
        mags, errs = p["magnitudes"], p["errors"]
        b = len(mags)
        sentinel = float(p["nondetection_value"])
        magnitude_columns, error_columns, flags = [], [], []
        for i, name in enumerate(mags):
            magnitude, error = inputs[:, i], inputs[:, b + i]
            limit = p.get("limits", {}).get(name)
            if limit is not None:
                detected = ops.cast(magnitude < sentinel, inputs.dtype)
                magnitude = detected * magnitude + (1.0 - detected) * float(limit)
                error = detected * error + (1.0 - detected) * MAX_MAGNITUDE_ERROR
                flags.append(detected)
            magnitude_columns.append(magnitude)
            error_columns.append(ops.minimum(error, MAX_MAGNITUDE_ERROR))
        colours = [magnitude_columns[i] - magnitude_columns[i + 1] for i in range(b - 1)]
        features = [magnitude_columns[int(p["reference"])], *colours, *error_columns, *flags]
        features = ops.stack(features, axis=-1)
        if len(self.input_columns) > 2 * b:
            features = ops.concatenate([features, inputs[:, 2 * b :]], axis=-1)
        return features

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (input_shape[0], self.output_size)

    def feature_names(self) -> list[str]:
        """Names of the output features, in order."""
        if self.photometry is None:
            return list(self.input_columns)
        p = self.photometry
        mags = list(p["magnitudes"])
        names = [mags[int(p["reference"])]]
        names += [f"{a}-{b}" for a, b in zip(mags[:-1], mags[1:], strict=True)]
        names += list(p["errors"])
        names += [f"detected({m})" for m in mags if m in p.get("limits", {})]
        return names + self.input_columns[2 * len(mags) :]

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "input_columns": self.input_columns,
            "photometry": self.photometry,
            "target": self.target,
            "id_column": self.id_column,
        }


def read_limits_from_errors(
    magnitudes: np.ndarray, errors: np.ndarray, sentinel: float, name: str
) -> float | None:
    """The DC2 convention: a non-detection's error column holds the band's limiting magnitude.

    Returns None when the band has no non-detection.
    """
    missing = magnitudes >= sentinel
    if not missing.any():
        return None
    values = np.unique(errors[missing])
    if len(values) != 1 or not 15.0 < values[0] < 35.0:
        from likely.errors import ConfigError

        raise ConfigError(
            f"Band column {name!r} has {int(missing.sum())} non-detections ({sentinel}) but "
            f"their error column does not hold one limiting magnitude (values {values[:3]}); "
            f"set data.photometry.limits.{name} in the config."
        )
    return float(values[0])
