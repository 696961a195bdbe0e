"""HDF5 tables in the column layout: a group holding one 1-D dataset per column.

This is the layout of the DC2 files (group `photometry`) and of many survey
catalogues. Files written by pandas' `DataFrame.to_hdf` (PyTables) store rows
in a different layout and are refused with a message saying how to convert.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from likely.errors import DataError

DEFAULT_GROUP = "photometry"
_LAYOUT = "one 1-D dataset per column in a group"


@contextmanager
def _group(path: Path, group: str | None) -> Iterator:
    """Opens the file and yields the group that holds the columns."""
    import h5py

    with h5py.File(path, "r") as handle:
        if group is not None:
            node = handle.get(group)
            if not isinstance(node, h5py.Group):
                raise DataError(
                    f"HDF5 file {path} has no group {group!r}; groups found: "
                    f"{_groups(handle) or 'none'}."
                )
            yield node
            return
        if isinstance(handle.get(DEFAULT_GROUP), h5py.Group):
            yield handle[DEFAULT_GROUP]
            return
        if _pytables(handle):
            raise DataError(
                f"HDF5 file {path} was written by pandas/PyTables (DataFrame.to_hdf), which "
                f"likely does not read; convert it with pandas.read_hdf(...).to_parquet(...) or "
                f"store {_LAYOUT}."
            )
        if _one_d_datasets(handle):
            yield handle
            return
        raise DataError(
            f"HDF5 file {path} is not a table likely reads: it has no group {DEFAULT_GROUP!r} "
            f"nor 1-D datasets at its root; expected {_LAYOUT} (give the group's name; groups "
            f"found: {_groups(handle) or 'none'}). pandas/PyTables HDF5 files are not supported."
        )


def _groups(handle) -> str:  # noqa: ANN001 - h5py.File
    import h5py

    names: list[str] = []

    def collect(name: str, node: object) -> None:
        if isinstance(node, h5py.Group):
            names.append(name)

    handle.visititems(collect)
    return ", ".join(repr(name) for name in names[:20])


def _pytables(handle) -> bool:  # noqa: ANN001 - h5py.File
    if "PYTABLES_FORMAT_VERSION" in handle.attrs:
        return True
    return any("pandas_type" in node.attrs for node in handle.values())


def _one_d_datasets(group) -> dict:  # noqa: ANN001 - h5py.Group
    import h5py

    return {
        name: node
        for name, node in group.items()
        if isinstance(node, h5py.Dataset) and node.ndim == 1
    }


def _datasets(group, names: list[str]) -> dict:  # noqa: ANN001 - h5py.Group
    """The selected 1-D datasets, checked to have one length."""
    datasets = _one_d_datasets(group)
    selected = {name: datasets[name] for name in names}
    lengths = {name: len(data) for name, data in selected.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{name!r}: {n}" for name, n in list(lengths.items())[:10])
        raise DataError(
            f"HDF5 group {group.name!r} in {group.file.filename} holds columns of different "
            f"lengths ({shown}); every column of a table must have one value per row."
        )
    return selected


def _values(dataset, start: int | None = None, stop: int | None = None) -> np.ndarray:  # noqa: ANN001
    import h5py

    if h5py.check_string_dtype(dataset.dtype) is not None:
        return dataset.asstr()[start:stop].astype(object)
    return dataset[start:stop]


def columns(path: Path, group: str | None = None) -> list[str]:
    with _group(path, group) as node:
        return list(_one_d_datasets(node))


def read(path: Path, names: list[str], group: str | None = None) -> pd.DataFrame:
    with _group(path, group) as node:
        selected = _datasets(node, names)
        return pd.DataFrame({name: _values(data) for name, data in selected.items()})


def chunks(
    path: Path, names: list[str], chunk_rows: int, group: str | None = None
) -> Iterator[pd.DataFrame]:
    with _group(path, group) as node:
        selected = _datasets(node, names)
        rows = _length(selected)
        for start in range(0, rows, chunk_rows):
            stop = min(start + chunk_rows, rows)
            yield pd.DataFrame(
                {name: _values(data, start, stop) for name, data in selected.items()}
            )


def count(path: Path, group: str | None = None) -> int:
    with _group(path, group) as node:
        return _length(_datasets(node, list(_one_d_datasets(node))))


def _length(selected: dict) -> int:
    return len(next(iter(selected.values()))) if selected else 0
