"""qp ensembles (LSST DESC's format for per-object PDFs): from likely's predictives and back.

`qp_parameters` turns a predictive into qp's parameters: `mixmod` (weights,
means, stds) for normal mixtures, which is exact, or `interp` (densities on a
grid) for anything else. `QpWriter` writes them chunk by chunk into the HDF5
layout `qp.write_to` produces (groups `meta`, `data`, `ancil`, one dataset
per array), without needing qp itself; `qp.read` opens the result.
`to_qp_ensemble`, `predictive_from_qp` and `read_qp` need qp
(`pip install "likely[rail]"`).
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import keras
import numpy as np

from likely.distributions import MixtureNormal, Normal
from likely.errors import DataError
from likely.io._formats import check_input_file, one_line
from likely.io._gridded import GriddedPredictive
from likely.models import Predictive

QP_GRID = np.linspace(0.0, 3.0, 301)
"""Default grid of `interp` output: RAIL's zmin=0, zmax=3, nzbins=301."""

_INSTALL = 'qp files need qp-prob: pip install "likely[rail]"'
_READABLE = ("mixmod", "interp", "norm")


@dataclass(frozen=True)
class QpParameters:
    """A qp parameterization: its name, per-object arrays and shared metadata.

    Attributes:
        name: qp's parameterization name, "mixmod" or "interp".
        data: Per-object arrays, first axis the objects (mixmod: `weights`,
            `means`, `stds` of shape (n, K); interp: `yvals` (n, G)).
        meta: Arrays shared by all objects (interp: `xvals` (G,)).
    """

    name: str
    data: dict[str, np.ndarray]
    meta: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(next(iter(self.data.values())).shape[0])

    def kwargs(self) -> dict[str, np.ndarray]:
        """Keyword arguments of `qp.Ensemble(qp.<name>, data=...)`."""
        return {**self.meta, **self.data}


def _numpy(x: Any) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(x))


def _follows_its_distribution(predictive: Predictive) -> bool:
    """Whether the predictive's maths is its distribution's (not a recalibrated subclass)."""
    cls = type(predictive)
    return cls.cdf_at is Predictive.cdf_at and cls.log_prob_at is Predictive.log_prob_at


def qp_parameters(predictive: Predictive, grid: Any = None) -> QpParameters:
    """The qp parameterization of a scalar predictive with batch shape (n,).

    Without `grid`: `mixmod` for a normal or a mixture of normals (exact),
    `interp` on its own grid for a `GriddedPredictive`; any other predictive
    (e.g. a recalibrated one) needs a grid. With `grid`: `interp`, the
    predictive's density on that grid (what RAIL's grid-based estimators
    write).

    Args:
        predictive: A `likely.Predictive` with scalar events.
        grid: Optional strictly increasing 1-D grid.

    Returns:
        A `QpParameters`.

    Example:
        >>> import numpy as np, likely
        >>> from likely.io import qp_parameters
        >>> p = likely.Predictive(likely.distributions.Normal(np.zeros(2), np.ones(2)))
        >>> q = qp_parameters(p)
        >>> q.name, q.data["means"].shape, qp_parameters(p, np.linspace(-3, 3, 61)).name
        ('mixmod', (2, 1), 'interp')
    """
    if not isinstance(predictive, Predictive):
        raise TypeError(
            f"Argument `predictive` must be a likely.Predictive. Received: "
            f"{type(predictive).__name__}."
        )
    if predictive.event_shape != () or len(predictive.batch_shape) != 1:
        raise ValueError(
            "qp stores one scalar PDF per object: the predictive needs batch shape (n,) and "
            f"scalar events. Received: batch_shape {predictive.batch_shape}, event_shape "
            f"{predictive.event_shape}."
        )
    if grid is not None:
        xvals = np.asarray(grid, dtype=np.float64)
        if xvals.ndim != 1 or xvals.size < 2 or (np.diff(xvals) <= 0).any():
            raise ValueError(
                "Argument `grid` must be a strictly increasing 1-D array of at least 2 points. "
                f"Received: shape {xvals.shape}."
            )
        yvals = np.asarray(predictive.pdf_grid(xvals), dtype=np.float32)
        return QpParameters("interp", {"yvals": yvals}, {"xvals": xvals})
    if isinstance(predictive, GriddedPredictive):
        return QpParameters("interp", {"yvals": predictive.pdfs}, {"xvals": predictive.grid})
    d = predictive.distribution
    if _follows_its_distribution(predictive) and isinstance(d, MixtureNormal):
        shape = tuple(d.batch_shape) + (d.num_components,)
        weights = np.broadcast_to(_numpy(d.weights), shape)
        means = np.broadcast_to(_numpy(d.loc)[..., 0], shape)
        stds = np.broadcast_to(_numpy(d.scale)[..., 0], shape)
        return QpParameters("mixmod", {"weights": weights, "means": means, "stds": stds})
    if _follows_its_distribution(predictive) and isinstance(d, Normal):
        shape = tuple(d.batch_shape) + (1,)
        means = np.broadcast_to(_numpy(d.loc), d.batch_shape).reshape(shape)
        stds = np.broadcast_to(_numpy(d.scale), d.batch_shape).reshape(shape)
        return QpParameters(
            "mixmod", {"weights": np.ones_like(means), "means": means, "stds": stds}
        )
    what = type(predictive).__name__
    if _follows_its_distribution(predictive):
        what = type(d).__name__
    raise ValueError(
        f"A {what} predictive is not a normal mixture, so qp needs its density on a grid: "
        "pass `grid` (e.g. numpy.linspace(0, 3, 301), RAIL's redshift grid)."
    )


def _qp() -> Any:
    try:
        import qp
    except ImportError:
        raise ImportError(_INSTALL) from None
    return qp


def to_qp_ensemble(
    predictive: Predictive, grid: Any = None, ancil: Mapping[str, Any] | None = None
) -> Any:
    """A `qp.Ensemble` of the predictive (see `qp_parameters`), with optional ancillary data.

    Example:
        >>> import numpy as np, likely
        >>> from likely.io import to_qp_ensemble
        >>> p = likely.Predictive(likely.distributions.Normal(np.zeros(2), np.ones(2)))
        >>> ensemble = to_qp_ensemble(p, ancil={"zmode": p.mode})
        >>> int(ensemble.npdf), np.round(ensemble.cdf(np.array([[0.0], [1.0]]))[:, 0], 4)
        (2, array([0.5   , 0.8413]))
    """
    qp = _qp()
    parameters = qp_parameters(predictive, grid)
    ensemble = qp.Ensemble(getattr(qp, parameters.name), data=parameters.kwargs())
    if ancil:
        ensemble.set_ancil({k: np.asarray(v) for k, v in ancil.items()})
    return ensemble


def predictive_from_qp(ensemble: Any) -> Predictive:
    """A likely predictive of a `qp.Ensemble`, so that `likely.metrics` can score it.

    - `mixmod` (and `norm`, a single normal): the same normal mixture, as a
      `Predictive` of a `likely.distributions.MixtureNormal` (or `Normal`);
    - `interp` (densities on a grid, as FlexZBoost and pzflow write them): a
      `GriddedPredictive` on the same grid.

    Other parameterizations are refused; convert them first, e.g.
    `ensemble.convert_to(qp.interp, xvals=numpy.linspace(0, 3, 301))`.

    Raises:
        DataError: an unsupported parameterization, or rows without a
            prediction (NaN parameters).

    Example:
        >>> import numpy as np, qp
        >>> from likely.io import predictive_from_qp
        >>> data = dict(weights=np.array([[0.5, 0.5]]), means=np.array([[0.0, 1.0]]),
        ...             stds=np.full((1, 2), 0.1))
        >>> e = qp.Ensemble(qp.mixmod, data=data)
        >>> predictive_from_qp(e).mean
        array([0.5], dtype=float32)
    """
    name = ensemble.gen_class.name
    data = ensemble.objdata
    if name == "mixmod":
        weights, means, stds = (
            np.asarray(data[k], dtype=np.float64).reshape(ensemble.npdf, -1)
            for k in ("weights", "means", "stds")
        )
        _check_rows(np.concatenate([weights, means, stds], axis=1), "mixmod")
        logits = np.log(np.maximum(weights / weights.sum(axis=1, keepdims=True), 1e-300))
        return Predictive(MixtureNormal(logits, means, stds))
    if name == "norm":
        loc = np.asarray(data["loc"], dtype=np.float64).reshape(ensemble.npdf)
        scale = np.asarray(data["scale"], dtype=np.float64).reshape(ensemble.npdf)
        _check_rows(np.stack([loc, scale], axis=1), "norm")
        return Predictive(Normal(loc, scale))
    if name == "interp":
        yvals = np.asarray(data["yvals"], dtype=np.float64).reshape(ensemble.npdf, -1)
        _check_rows(yvals, "interp")
        xvals = np.asarray(ensemble.metadata["xvals"], dtype=np.float64).reshape(-1)
        return GriddedPredictive(xvals, yvals)
    raise DataError(
        f"qp parameterization {name!r} is not supported (supported: {', '.join(_READABLE)}); "
        "convert it first, e.g. ensemble.convert_to(qp.interp, xvals=numpy.linspace(0, 3, 301))."
    )


def _check_rows(values: np.ndarray, name: str) -> None:
    bad = ~np.isfinite(values).all(axis=1)
    if bad.any():
        first = ", ".join(str(i) for i in np.flatnonzero(bad)[:5])
        raise DataError(
            f"{int(bad.sum())} of the {len(values)} {name} PDFs have NaN or infinite "
            f"parameters (no prediction, e.g. rows flagged by `likely predict --invalid-rows "
            f"flag`); first rows: {first}. Drop them before scoring."
        )


def read_qp(path: str | os.PathLike) -> tuple[Predictive, dict[str, np.ndarray]]:
    """Reads a qp file: the predictive (see `predictive_from_qp`) and the ancillary arrays.

    Args:
        path: A file `qp.read` opens (HDF5 from `qp.Ensemble.write_to`, RAIL's
            estimators or `likely predict --output-format qp`).

    Returns:
        `(predictive, ancil)`; `ancil` maps names (e.g. "id", "zmode") to
        arrays of shape (n,) (empty when the file has none).

    Raises:
        DataError: The file is missing or not a qp file, or as `predictive_from_qp`.
        ImportError: qp is not installed.
    """
    file = check_input_file(path)
    qp = _qp()
    try:
        with warnings.catch_warnings():  # qp warns of NaN rows; predictive_from_qp refuses them
            warnings.simplefilter("ignore", RuntimeWarning)
            ensemble = qp.read(str(file))
    except Exception as error:  # tables_io and h5py raise many types on a foreign file
        raise DataError(
            f"Cannot read {path} as a qp file (groups meta, data and ancil, as written by "
            f"qp.Ensemble.write_to): {one_line(error)}"
        ) from error
    ancil = {
        str(k): np.asarray(v).reshape(ensemble.npdf, -1)[:, 0]
        if np.ndim(v) == 2 and np.shape(v)[1] == 1
        else np.asarray(v)
        for k, v in (ensemble.ancil or {}).items()
    }
    return predictive_from_qp(ensemble), ancil


def is_qp_file(path: str | os.PathLike) -> bool:
    """Whether `path` is an HDF5 file with qp's `meta/pdf_name` (without reading its data).

    Example:
        >>> from likely.datasets import dc2_path
        >>> from likely.io import is_qp_file
        >>> is_qp_file(dc2_path("validation"))
        False
    """
    import h5py

    file = Path(path)
    if not file.is_file() or not h5py.is_hdf5(file):
        return False
    with h5py.File(file, "r") as handle:
        return "meta" in handle and "pdf_name" in handle["meta"] and "data" in handle


class QpWriter:
    """Writes qp ensembles chunk by chunk to an HDF5 file `qp.read` opens; atomic.

    Chunks go to a hidden temporary file beside the output, renamed onto
    `path` when the `with` block ends without an exception (otherwise
    removed): the file appears whole or not at all. The first chunk fixes
    the parameterization, its metadata and the ancillary names; later chunks
    must match. Datasets grow as chunks arrive, so the number of rows need
    not be known in advance. qp itself is not needed to write.

    Args:
        path: The output file (`.hdf5` or `.h5`).

    Example:
        >>> import pathlib, tempfile
        >>> import numpy as np, likely, qp
        >>> from likely.io import QpWriter, qp_parameters
        >>> folder = tempfile.TemporaryDirectory()
        >>> out = pathlib.Path(folder.name) / "photoz.hdf5"
        >>> p = likely.Predictive(likely.distributions.Normal(np.zeros(3), np.ones(3)))
        >>> with QpWriter(out) as writer:
        ...     writer.write(qp_parameters(p), {"zmode": p.mode})
        ...     writer.write(qp_parameters(p), {"zmode": p.mode})
        >>> ensemble = qp.read(str(out))
        >>> int(ensemble.npdf), writer.rows_written
        (6, 6)
        >>> folder.cleanup()
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        if not self.path.name.lower().endswith((".hdf5", ".h5")):
            raise DataError(
                f"A qp output file is HDF5: name it *.hdf5 or *.h5 (received {self.path})."
            )
        self.rows_written = 0
        self._temporary: Path | None = None
        self._handle: Any = None
        self._first: QpParameters | None = None
        self._ancil_names: list[str] | None = None

    def __enter__(self) -> QpWriter:
        if self._temporary is not None:
            raise RuntimeError(f"QpWriter for {self.path} is already open.")
        if self.path.is_dir():
            raise DataError(f"Output path {self.path} is a directory; give a file name.")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DataError(
                f"Cannot create the output directory {self.path.parent}: {one_line(error)}"
            ) from error
        self._temporary = self.path.with_name(f".{self.path.name}.partial-{os.getpid()}")
        self.rows_written = 0
        self._first = None
        return self

    def write(self, parameters: QpParameters, ancil: Mapping[str, Any] | None = None) -> None:
        """Appends one chunk: the objects' parameters and their ancillary arrays (n,).

        Raises:
            RuntimeError: The writer is not open.
            ValueError: The chunk does not match the first (parameterization,
                metadata, ancillary names) or its arrays disagree on n.
            DataError: The file cannot be written.
        """
        if self._temporary is None:
            raise RuntimeError("QpWriter.write needs an open writer: use `with QpWriter(...)`.")
        ancil = {str(k): np.asarray(v) for k, v in (ancil or {}).items()}
        n = len(parameters)
        for name, values in [*parameters.data.items(), *ancil.items()]:
            if values.shape[:1] != (n,):
                raise ValueError(
                    f"Every array of a chunk needs {n} rows; {name!r} has shape {values.shape}."
                )
        if self._first is None:
            self._first, self._ancil_names = parameters, list(ancil)
        else:
            self._check_matches(parameters, list(ancil))
        import h5py

        try:
            if self._handle is None:
                self._handle = h5py.File(self._temporary, "w")
                for group in ("data", "ancil"):
                    self._handle.create_group(group)
            for group, arrays in (("data", parameters.data), ("ancil", ancil)):
                for name, values in arrays.items():
                    self._append(self._handle[group], name, _storable(values))
        except OSError as error:
            raise DataError(f"Cannot write {self.path}: {one_line(error)}") from error
        self.rows_written += n

    def _check_matches(self, parameters: QpParameters, ancil_names: list[str]) -> None:
        first = self._first
        if first is None:
            return
        same_meta = first.meta.keys() == parameters.meta.keys() and all(
            np.array_equal(first.meta[k], parameters.meta[k]) for k in first.meta
        )
        if parameters.name != first.name or not same_meta:
            raise ValueError(
                f"Every chunk written to {self.path} must use the first chunk's qp "
                f"parameterization ({first.name!r}) and metadata. Received: {parameters.name!r}."
            )
        if parameters.data.keys() != first.data.keys() or ancil_names != self._ancil_names:
            raise ValueError(
                f"Every chunk written to {self.path} must have the first chunk's arrays "
                f"({sorted(first.data)} and ancil {self._ancil_names}). Received: "
                f"{sorted(parameters.data)} and ancil {ancil_names}."
            )

    @staticmethod
    def _append(group: Any, name: str, values: np.ndarray) -> None:
        if name not in group:
            group.create_dataset(name, data=values, maxshape=(None, *values.shape[1:]), chunks=True)
            return
        dataset = group[name]
        start = dataset.shape[0]
        if dataset.shape[1:] != values.shape[1:]:
            raise ValueError(
                f"Array {name!r} has shape {values.shape[1:]} per row in this chunk and "
                f"{dataset.shape[1:]} in the first."
            )
        dataset.resize(start + values.shape[0], axis=0)
        dataset[start:] = values

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        temporary, self._temporary = self._temporary, None
        handle, self._handle = self._handle, None
        if exc_type is not None:
            _discard(handle, temporary)
            return
        try:
            if handle is None or self._first is None:
                raise ValueError(
                    f"Nothing was written to {self.path}: a qp file needs at least one chunk."
                )
            meta = handle.create_group("meta")
            meta.create_dataset("pdf_name", data=np.array([self._first.name.encode()]))
            meta.create_dataset("pdf_version", data=np.array([0]))
            for name, values in self._first.meta.items():
                meta.create_dataset(name, data=np.asarray(values)[None, ...])
            if not len(handle["ancil"]):
                del handle["ancil"]
            handle.close()
            os.replace(temporary, self.path)
        except BaseException as error:
            _discard(handle, temporary)
            if isinstance(error, OSError):
                raise DataError(f"Cannot write {self.path}: {one_line(error)}") from error
            raise


def _storable(values: np.ndarray) -> np.ndarray:
    """Arrays as HDF5 stores them: text as variable-length UTF-8."""
    if values.dtype.kind in "OUS":
        import h5py

        return np.asarray([str(v) for v in values], dtype=h5py.string_dtype())
    return values


def _discard(handle: Any, temporary: Path | None) -> None:
    if handle is not None:
        with contextlib.suppress(Exception):
            handle.close()
    if temporary is not None:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
