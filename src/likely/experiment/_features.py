"""`FeaturePipeline`: the preprocessing that is saved inside a trained model.

`likely train` puts this layer first in every model it builds, so `likely
predict` applies exactly what training did: it knows the input column names
and order, replaces non-detections by limiting magnitudes (with a detection
flag), derives colours and clips photometric errors. Standardization follows
in a `keras.layers.Normalization` layer.

Non-detections come in two conventions: a sentinel magnitude (99 in the DC2
and most LSST simulation files) and NaN (the Rubin pipelines' convention). Both
mean the same: the magnitude is replaced by the band's limiting magnitude, its
error by 2.5/ln 10 and its detection flag set to 0; the error column of a
non-detection is never read (it may be NaN). A band that is missing entirely
(its column absent, or NaN in every row) is refused, not marginalised: the
network was trained with the band, and feeding it any number would be a guess.

Photometric errors can also be inputs in the errors-in-variables sense
(pzflow's `convolve_errs` and `err_samples`): with `convolve_errors`, every
training step sees magnitudes redrawn from `N(magnitude, error)`; with
`error_samples = S > 0`, every prediction pass draws them, the model is
stochastic (`likely.models.is_stochastic`) and
`likely.predict_distribution(model, x, n_samples=S, seed=...)` averages the
predictive over the S draws (an equal-weight mixture).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import keras
import numpy as np
import pandas as pd
from keras import ops

from likely.errors import DataError

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

    A magnitude that is NaN or at/above `photometry["nondetection_value"]`
    (99 in LSST simulation catalogues) is a non-detection: it is replaced by
    that band's limiting magnitude, its error by 2.5/ln 10 (whatever the error
    column holds, NaN included), and its flag set to 0.

    Errors-in-variables (both off by default):
    `photometry["convolve_errors"]` redraws every detected magnitude from
    `N(magnitude, min(error, 2.5/ln 10))` in each training step (non-detections
    stay at their limit, the error features stay the catalogue's);
    `photometry["error_samples"] = S > 0` draws them in every prediction pass
    too, which makes the model stochastic: `likely.predict_distribution(model,
    x, n_samples=S, seed=...)` returns the mixture over S draws.

    Args:
        input_columns: Names of the raw input columns, in order.
        photometry: None, or a dict with keys `magnitudes`, `errors` (lists of
            column names, one per band in wavelength order), `reference` (index
            of the reference band), `nondetection_value`, `limits` (dict from
            magnitude column to limiting magnitude) and optionally
            `convolve_errors` (bool) and `error_samples` (int).
        target: Name of the target column (kept for evaluation).
        id_column: Name of the identifier column (passed through by `likely predict`).
        seed: Seed of the error draws (used only when they are on).
        **kwargs: Base layer arguments.

    Example:
        >>> import numpy as np
        >>> from likely.experiment import FeaturePipeline
        >>> layer = FeaturePipeline(["m_g", "m_r", "e_g", "e_r"], photometry={
        ...     "magnitudes": ["m_g", "m_r"], "errors": ["e_g", "e_r"], "reference": 1,
        ...     "nondetection_value": 99.0, "limits": {"m_g": 27.0}})
        >>> x = np.array([[99.0, 24.0, 1.0, 0.1], [np.nan, 24.0, np.nan, 0.1]], "float32")
        >>> out = np.asarray(layer(x), dtype=float)
        >>> out.round(3).tolist()  # r mag, g-r (g at its limit), errors, detected(g)
        [[24.0, 3.0, 1.086, 0.1, 0.0], [24.0, 3.0, 1.086, 0.1, 0.0]]
    """

    def __init__(
        self,
        input_columns: list[str],
        photometry: dict[str, Any] | None = None,
        target: str | None = None,
        id_column: str | None = None,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.input_columns = [str(c) for c in input_columns]
        self.photometry = None if photometry is None else dict(photometry)
        self.target = target
        self.id_column = id_column
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(f"Argument `seed` must be an int or None. Received: seed={seed!r}")
        self.seed = seed
        if self.photometry is not None:
            mags, errs = self.photometry["magnitudes"], self.photometry["errors"]
            expected = list(mags) + list(errs)
            if self.input_columns[: len(expected)] != expected:
                raise ValueError(
                    "FeaturePipeline expects the magnitude then error columns first. "
                    f"Received: input_columns={self.input_columns}, photometry columns {expected}."
                )
            convolve = self.photometry.get("convolve_errors", False)
            if not isinstance(convolve, bool):
                raise TypeError(
                    "photometry['convolve_errors'] must be True or False. "
                    f"Received: convolve_errors={convolve!r}"
                )
            samples = self.photometry.get("error_samples", 0)
            if isinstance(samples, bool) or not isinstance(samples, int) or samples < 0:
                raise ValueError(
                    "photometry['error_samples'] must be an integer >= 0. "
                    f"Received: error_samples={samples!r}"
                )
        if self.convolve_errors or self.samples_at_inference:
            self.seed_generator = keras.random.SeedGenerator(seed)

    @property
    def convolve_errors(self) -> bool:
        """Whether training steps see magnitudes redrawn from their errors."""
        return bool(self.photometry and self.photometry.get("convolve_errors", False))

    @property
    def error_samples(self) -> int:
        """Number S of error draws a prediction averages over (0: none)."""
        return int(self.photometry.get("error_samples", 0)) if self.photometry else 0

    @property
    def samples_at_inference(self) -> bool:
        """Whether every prediction pass draws new magnitudes (the model is stochastic)."""
        return self.error_samples > 0

    @property
    def output_size(self) -> int:
        if self.photometry is None:
            return len(self.input_columns)
        bands = len(self.photometry["magnitudes"])
        flags = len(self.photometry.get("limits", {}))
        return 1 + (bands - 1) + bands + flags + len(self.input_columns) - 2 * bands

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        draw = self.convolve_errors if training else self.samples_at_inference
        return self._features(inputs, draw=draw)

    def transform(self, x: Any) -> Any:
        """The features of `x` from the catalogue magnitudes, without error draws."""
        return self._features(ops.convert_to_tensor(x, dtype=self.compute_dtype), draw=False)

    def _features(self, inputs: Any, draw: bool) -> Any:
        if self.photometry is None:
            return inputs
        p = self.photometry
        mags = p["magnitudes"]
        b = len(mags)
        sentinel = float(p["nondetection_value"])
        if draw:
            noise = keras.random.normal(
                ops.shape(inputs[:, :b]), seed=self.seed_generator, dtype=inputs.dtype
            )
        magnitude_columns, error_columns, flags = [], [], []
        for i, name in enumerate(mags):
            magnitude, error = inputs[:, i], inputs[:, b + i]
            # NaN is a non-detection whatever the sentinel (a NaN sentinel means NaN only).
            detected = ops.isfinite(magnitude)
            if not math.isnan(sentinel):
                detected = ops.logical_and(detected, magnitude < sentinel)
            limit = p.get("limits", {}).get(name)
            if limit is not None:
                # `where`, not arithmetic: 0 * NaN would be NaN.
                magnitude = ops.where(detected, magnitude, float(limit))
                error = ops.where(detected, error, MAX_MAGNITUDE_ERROR)
                flags.append(ops.cast(detected, inputs.dtype))
            error = ops.minimum(error, MAX_MAGNITUDE_ERROR)
            if draw:
                magnitude = magnitude + ops.where(detected, noise[:, i] * error, 0.0)
            magnitude_columns.append(magnitude)
            error_columns.append(error)
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

    def check_table(
        self,
        frame: pd.DataFrame,
        policy: str = "error",
        source: object = "the data",
        hint: str | None = None,
    ) -> Any:
        """`check_inputs` with this layer's columns and photometry (see there)."""
        return check_inputs(frame, self.input_columns, self.photometry, policy, source, hint)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "input_columns": self.input_columns,
            "photometry": self.photometry,
            "target": self.target,
            "id_column": self.id_column,
            "seed": self.seed,
        }


def check_inputs(
    frame: pd.DataFrame,
    columns: list[str],
    photometry: Mapping[str, Any] | None,
    policy: str = "error",
    source: object = "the data",
    hint: str | None = None,
) -> Any:
    """Checks the raw columns of a table before they reach a `FeaturePipeline`.

    Without photometry this is `likely.io.check_values`. With photometry, a
    magnitude that is NaN or at/above the non-detection value is a documented
    non-detection, not an invalid value, and the error of a non-detection is not
    read; every other value must be a finite number (an infinite magnitude is
    invalid). Rows are refused or dropped by `policy` ("error" or "drop", as in
    `check_values`) when they hold an invalid value, or a non-detection in a band
    for which `photometry["limits"]` has no limiting magnitude (the model has no
    number to put there; `limits=None` skips this check, for training data
    whose limits are not known yet). `hint` says how the caller's user
    discards invalid rows (as in `check_values`).

    Raises:
        DataError: A magnitude column is absent or NaN in every row (a band
            missing entirely is not marginalised), or a row is invalid under
            the "error" policy. Non-detections stay in the returned frame as
            the table wrote them (NaN or the sentinel).

    Returns:
        `likely.io.CheckedValues(frame, n_dropped)`.

    Example:
        >>> import numpy as np, pandas as pd
        >>> from likely.experiment._features import check_inputs
        >>> spec = {"magnitudes": ["m_g", "m_r"], "errors": ["e_g", "e_r"],
        ...         "nondetection_value": 99.0, "limits": {"m_g": 27.0}}
        >>> t = pd.DataFrame({"m_g": [np.nan, 24.0], "m_r": [23.0, 23.5],
        ...                   "e_g": [np.nan, 0.1], "e_r": [0.05, 0.05]})
        >>> check_inputs(t, list(t.columns), spec).n_dropped
        0
    """
    from likely import io

    if photometry is None:
        return io.check_values(frame, columns, policy=policy, source=source, hint=hint)
    mags, errs = list(photometry["magnitudes"]), list(photometry["errors"])
    limits = photometry.get("limits")
    sentinel = float(photometry["nondetection_value"])
    absent = [name for name in mags if name not in frame.columns]
    if absent:
        raise DataError(
            f"Band column(s) {absent} missing from {source}: the model was trained with these "
            "bands, and a band missing entirely is refused, not marginalised (a number would "
            "be a guess); predict with a catalogue that has them, or train without them."
        )
    if len(frame) == 0:
        return io.check_values(frame, columns, policy=policy, source=source, hint=hint)
    present = [name for name in dict.fromkeys(columns) if name in frame.columns]
    probe = frame[present].reset_index(drop=True)  # positions as labels
    no_limit = np.zeros(len(probe), dtype=bool)
    no_limit_bands: dict[str, int] = {}
    for mag, err in zip(mags, errs, strict=True):
        if not pd.api.types.is_numeric_dtype(probe[mag].dtype):
            continue  # check_values names the non-numeric column
        values = probe[mag].to_numpy(dtype="float64", na_value=np.nan)
        nan = np.isnan(values)
        if nan.all():
            hint = ""
            if not math.isnan(sentinel) and (limits is None or mag in limits):
                hint = (
                    f" If these are non-detections, write them as {sentinel:g} "
                    "(the non-detection value)."
                )
            raise DataError(
                f"Band column {mag!r} of {source} is NaN in every row: a band missing entirely "
                f"is refused, not marginalised (the model was trained with it).{hint}"
            )
        nondetected = nan | (np.isfinite(values) & (values >= sentinel))
        if not nondetected.any():
            continue
        if limits is not None and mag not in limits:
            no_limit |= nondetected
            no_limit_bands[mag] = int(nondetected.sum())
        # Stand-ins, for the check only: a non-detection and its error are not invalid.
        probe.loc[nondetected, mag] = sentinel
        if err in probe.columns and pd.api.types.is_numeric_dtype(probe[err].dtype):
            probe.loc[nondetected, err] = 0.0
    if no_limit.any():
        bands = ", ".join(f"{name!r} {count} rows" for name, count in no_limit_bands.items())
        if policy == "error":
            raise DataError(
                f"Non-detections (NaN or >= {sentinel:g}) in {source} in bands the model has no "
                f"limiting magnitude for ({bands}; its training data had none there): give "
                "data.photometry.limits for them when training, or "
                + (hint or "discard these rows (policy='drop')")
                + "."
            )
    keep = ~no_limit
    checked = io.check_values(probe[keep], columns, policy=policy, source=source, hint=hint)
    rows = checked.frame.index.to_numpy()
    out = frame.iloc[rows]
    converted = {
        name: checked.frame[name].to_numpy()
        for name in columns
        if name not in mags + errs and not pd.api.types.is_numeric_dtype(frame[name].dtype)
    }
    if converted:
        out = out.assign(**converted)
    return io.CheckedValues(out, len(frame) - len(out))


def find_feature_pipeline(model: keras.Model) -> FeaturePipeline | None:
    """The `FeaturePipeline` inside a model built by `likely train`, if any."""
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, FeaturePipeline):
            return layer
    return None


def sampling_options(model: keras.Model) -> dict[str, int]:
    """`predict_distribution` keywords for a model that draws magnitudes from their errors.

    `{"n_samples": S, "seed": seed}` with the model's own `error_samples` and
    seed (0 when unseeded), so evaluation and prediction tables are
    reproducible; `{}` for any other model.
    """
    features = find_feature_pipeline(model)
    if features is None or not features.samples_at_inference:
        return {}
    return {"n_samples": features.error_samples, "seed": features.seed or 0}


def read_limits_from_errors(
    magnitudes: np.ndarray, errors: np.ndarray, sentinel: float, name: str
) -> float | None:
    """The DC2 convention: a non-detection's error column holds the band's limiting magnitude.

    Returns None when the band has no non-detection (NaN or >= `sentinel`).
    """
    missing = np.isnan(magnitudes) | (magnitudes >= sentinel)
    if not missing.any():
        return None
    values = np.unique(errors[missing])
    if len(values) != 1 or not 15.0 < values[0] < 35.0:
        from likely.errors import ConfigError

        raise ConfigError(
            f"Band column {name!r} has {int(missing.sum())} non-detections (NaN or "
            f">= {sentinel:g}) but their error column does not hold one limiting magnitude "
            f"(values {values[:3]}); set data.photometry.limits for this band in the config."
        )
    return float(values[0])
