"""likely's photometric redshifts as RAIL stages: `LikelyInformer` and `LikelyEstimator`.

Both are thin adapters over `likely.experiment`, the pipeline `likely train`
and `likely predict` run: the informer maps RAIL's shared options onto a
likely `Config` (the DC2 job's model and training settings unless
`likely_config` says otherwise), trains with the same preprocessing, split
and fit, and writes the model as a `.keras` file; the estimator predicts each
chunk RAIL hands it and returns a `qp.Ensemble`: the normal mixture itself
(`qp.mixmod`) for likely's mixture heads, densities on the `zmin`..`zmax`
grid (`qp.interp`) for any other family or when `qp_representation` is
"interp". Ancillary `zmode` (the highest mode) and `zmean` come with it.

Usage, as with RAIL's own estimators::

    import tables_io
    from rail.estimation.algos.likely import LikelyEstimator, LikelyInformer

    train = tables_io.read("test_dc2_training_9816.hdf5")
    test = tables_io.read("test_dc2_validation_9816.hdf5")
    informer = LikelyInformer.make_stage(name="inform_likely", model="likely_model.keras")
    informer.inform(train)
    estimator = LikelyEstimator.make_stage(
        name="estimate_likely", model=informer.get_handle("model")
    )
    ensemble = estimator.estimate(test).data  # a qp.Ensemble, one PDF per galaxy
"""

from __future__ import annotations

import os
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import tables_io
import yaml
from ceci.config import StageParameter as Param
from rail.core.common_params import SharedParams
from rail.core.data import ModelHandle, TableHandle
from rail.estimation.estimator import CatEstimator
from rail.estimation.informer import CatInformer

from likely import experiment, io
from likely.errors import ConfigError

__all__ = ["LikelyEstimator", "LikelyInformer", "LikelyModelHandle", "likely_config"]

_SECTIONS = ("data", "model", "training", "evaluation")
_RAIL_OWNED = {
    "train": "the training table is the stage's input",
    "test": "evaluate with RAIL's evaluation stages",
    "format": "the training table is the stage's input",
    "target": "set the stage option redshift_col",
    "id_column": "set the stage option id_col",
    "photometry": "set the stage options bands, err_bands, ref_band, mag_limits, nondetect_val",
}


class LikelyModelHandle(ModelHandle):
    """A likely model in a `.keras` file (Keras' own format, not a pickle)."""

    suffix = "keras"

    @classmethod
    def _open(cls, path: str, **kwargs: Any) -> Any:
        if kwargs.get("mode", "r") == "w":
            raise NotImplementedError("Use LikelyModelHandle.write(), not open(mode='w').")
        return cls._read(path)

    @classmethod
    def _read(cls, path: str, **kwargs: Any) -> Any:
        return experiment.load_trained_model(os.path.expandvars(path))

    @classmethod
    def _write(cls, data: Any, path: str, **kwargs: Any) -> None:
        if not str(path).endswith(".keras"):
            raise ValueError(
                f"A likely model is saved as a .keras file; name the model output *.keras "
                f"(received {path!r})."
            )
        data.save(path)


def _shared(name: str, default: Any = None, msg: str | None = None) -> Param:
    param = SharedParams.copy_param(name)
    if default is not None:
        param.set_default(default)
    if msg is not None:
        param.msg = msg
    return param


def _pattern(columns: list[str], what: str) -> tuple[str, list[str], str]:
    """(prefix, band names, suffix) shared by all column names, e.g. mag_, [u, g], _lsst."""
    prefix = os.path.commonprefix(columns)
    suffix = os.path.commonprefix([c[::-1] for c in columns])[::-1]
    # The band names must not be swallowed whole: keep one character each.
    shortest = min(len(c) for c in columns)
    if len(prefix) + len(suffix) >= shortest:
        suffix = suffix[len(prefix) + len(suffix) - shortest + 1 :]
    names = [c[len(prefix) : len(c) - len(suffix)] for c in columns]
    if len(set(names)) != len(names) or not all(names):
        raise ConfigError(f"{what} must name distinct columns, one per band. Received: {columns}")
    return prefix, names, suffix


def likely_config(stage_config: Any, id_column: str | None = None) -> experiment.Config:
    """The likely `Config` of a `LikelyInformer`'s options.

    RAIL's shared options give the data section: `bands` and `err_bands`
    (magnitude and error columns, one per band, in wavelength order) become
    `data.photometry` (their common name pattern, e.g. `mag_{band}_lsst`),
    `ref_band` its reference band, `nondetect_val` the non-detection value,
    `mag_limits` the limiting magnitudes (by magnitude column; empty: read
    from the error column of non-detections, likely's default),
    `redshift_col` the target; `id_column` (the stage's `id_col` when the
    training table has it) is recorded in the model. The model and training
    settings (and `evaluation.recalibrate`, the recalibration fitted on
    held-out rows and stored in the model) are those of the DC2 job (`likely
    init`'s config), updated section by section with the stage's
    `likely_config` option, a dict with the sections `model`, `training`,
    `evaluation` (`recalibrate` only) and `data` (`features`, `filters`,
    `invalid_values`, `validation_fraction`).

    Raises:
        likely.errors.ConfigError: an unknown section or field, a field RAIL's
            options own, or columns without a common name pattern.
    """
    extra = dict(stage_config["likely_config"] or {})
    unknown = sorted(set(extra) - set(_SECTIONS))
    if unknown:
        raise ConfigError(
            f"likely_config has unknown sections {unknown}; allowed: {list(_SECTIONS)} "
            "(RAIL stages do not track runs in MLflow)"
        )
    evaluation = dict(extra.get("evaluation") or {})
    if set(evaluation) - {"recalibrate"}:
        raise ConfigError(
            f"likely_config's evaluation section may only set recalibrate (stored in the model); "
            f"received {sorted(evaluation)}: evaluation is RAIL's"
        )
    data_extra = dict(extra.get("data") or {})
    owned = [f"data.{k} ({_RAIL_OWNED[k]})" for k in data_extra if k in _RAIL_OWNED]
    if owned:
        raise ConfigError(f"likely_config may not set {', '.join(owned)}")
    bands, errors = list(stage_config["bands"]), list(stage_config["err_bands"])
    if len(bands) != len(errors):
        raise ConfigError(
            f"bands and err_bands need one column per band each; received {len(bands)} "
            f"and {len(errors)}"
        )
    mag_prefix, names, mag_suffix = _pattern(bands, "bands")
    err_prefix, err_names, err_suffix = _pattern(errors, "err_bands")
    if err_names != names:
        raise ConfigError(
            f"err_bands must follow bands band by band; their columns {errors} do not match {bands}"
        )
    ref_band = stage_config["ref_band"]
    if ref_band not in bands:
        raise ConfigError(f"ref_band {ref_band!r} is not one of bands {bands}")
    limits = {
        names[bands.index(column)]: float(value)
        for column, value in (stage_config["mag_limits"] or {}).items()
        if column in bands
    }
    photometry = {
        "bands": names,
        "magnitude": f"{mag_prefix}{{band}}{mag_suffix}",
        "error": f"{err_prefix}{{band}}{err_suffix}",
        "reference_band": names[bands.index(ref_band)],
        "nondetection_value": float(stage_config["nondetect_val"]),
        "limits": limits,
    }
    job = yaml.safe_load((resources.files("likely.experiment") / "dc2_photoz.yaml").read_text())
    sections: dict[str, Any] = {}
    for section in ("model", "training"):
        sections[section] = {**job.get(section, {}), **dict(extra.get(section) or {})}
    sections["evaluation"] = {
        "recalibrate": evaluation.get("recalibrate", job["evaluation"]["recalibrate"])
    }
    data = {
        "train": "RAIL input",
        "target": stage_config["redshift_col"],
        "id_column": id_column,
        "photometry": photometry,
        "validation_fraction": job["data"].get("validation_fraction", 0.15),
        **data_extra,
    }
    return experiment.parse_config(
        {**sections, "data": data, "tracking": {"enabled": False}}, source="LikelyInformer"
    )


def _table(stage: Any, tag: str) -> Any:
    data = stage.get_data(tag)
    if stage.config.hdf5_groupname:
        data = data[stage.config.hdf5_groupname]
    if tables_io.types.table_type(data) != tables_io.types.NUMPY_DICT:
        data = stage._convert_table_format(data, out_fmt_str="numpyDict")
    return data


class LikelyInformer(CatInformer):
    """Trains likely's mixture density network (the `likely train` pipeline) on RAIL input.

    The model (preprocessing included) is written as a `.keras` file to the
    path of the `model` output. See `likely_config` for how the options map
    onto likely's configuration.
    """

    name = "LikelyInformer"
    entrypoint_function = "inform"
    interactive_function = "likely_informer"
    outputs = [("model", LikelyModelHandle)]
    config_options = CatInformer.config_options.copy()
    config_options.update(
        bands=_shared("bands"),
        err_bands=_shared("err_bands"),
        ref_band=_shared("ref_band"),
        nondetect_val=_shared("nondetect_val"),
        mag_limits=Param(
            dict,
            {},
            msg="Limiting magnitude per magnitude column, given to non-detections; {} "
            "(default): read from the error column of non-detections (likely's default, "
            "the DC2 convention)",
        ),
        redshift_col=_shared("redshift_col"),
        id_col=_shared("id_col"),
        likely_config=Param(
            dict,
            {},
            msg="likely config sections model, training, evaluation (recalibrate) and data "
            "(features, filters, invalid_values, validation_fraction) over the DC2 job's; see "
            "`likely init`",
        ),
    )

    def validate(self) -> None:
        """Checks the options, the model's file name and the training table's columns."""
        path = self.get_output("model", final_name=True)
        if not str(path).endswith(".keras"):
            raise ConfigError(
                f"LikelyInformer saves its model as a .keras file; name the model output "
                f"*.keras (received {path!r})"
            )
        config = likely_config(self.config)
        columns = experiment.input_columns(config.data) + [config.data.target]
        self._check_column_names(self.get_handle("input", allow_missing=True), columns)

    def run(self) -> None:
        table = _table(self, "input")
        id_column = self.config.id_col if self.config.id_col in table else None
        config = likely_config(self.config, id_column)
        columns = experiment.input_columns(config.data) + [config.data.target]
        if config.data.id_column:
            columns.append(config.data.id_column)
        frame = pd.DataFrame({name: np.asarray(table[name]) for name in columns})
        frame = experiment.check_table(
            config.data,
            frame,
            source="the training data",
            hint="likely_config={'data': {'invalid_values': 'drop'}} discards such rows",
        )
        self.model = experiment.fit_table(config, frame, progress=False).model
        self.add_data("model", self.model)


class LikelyEstimator(CatEstimator):
    """Predicts a `qp.Ensemble` per chunk with a model from `LikelyInformer` (or `likely train`).

    The model's own preprocessing reads its input columns (those it was
    trained on). Normal mixtures are stored exactly (`qp.mixmod`); other
    families, models whose stored recalibration is isotonic, or
    `qp_representation="interp"`, as densities on the grid
    `zmin`..`zmax` (`nzbins` points, `qp.interp`). Ancillary `zmode` is the
    highest mode, `zmean` the mean.
    """

    name = "LikelyEstimator"
    entrypoint_function = "estimate"
    interactive_function = "likely_estimator"
    inputs = [("model", LikelyModelHandle), ("input", TableHandle)]
    config_options = CatEstimator.config_options.copy()
    config_options.update(
        qp_representation=Param(
            str,
            "auto",
            msg="qp parameterization: auto (mixmod for normal mixtures, else interp) or interp "
            "(densities on the zmin..zmax grid of nzbins points)",
        ),
    )

    def __init__(self, args: Any, **kwargs: Any) -> None:
        super().__init__(args, **kwargs)
        if self.config.qp_representation not in ("auto", "interp"):
            raise ValueError(
                "qp_representation must be 'auto' or 'interp'. Received: "
                f"{self.config.qp_representation!r}"
            )
        self.zgrid = np.linspace(self.config.zmin, self.config.zmax, self.config.nzbins)

    def _process_chunk(self, start: int, end: int, data: Any, first: bool) -> None:
        if tables_io.types.table_type(data) != tables_io.types.NUMPY_DICT:
            data = self._convert_table_format(data, "numpyDict")
        predictive = experiment.predict_frame(
            self.model, data, source=f"rows {start}-{end} of the input"
        )
        grid = self.zgrid if self.config.qp_representation == "interp" else None
        try:
            ensemble = io.to_qp_ensemble(predictive, grid)
        except ValueError:  # not a normal mixture: densities on the grid
            ensemble = io.to_qp_ensemble(predictive, self.zgrid)
        ensemble.set_ancil(
            {"zmode": np.asarray(predictive.mode), "zmean": np.asarray(predictive.mean)}
        )
        self._do_chunk_output(ensemble, start, end, first, data=data)
