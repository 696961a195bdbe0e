"""FITS binary and ASCII tables through astropy (optional: `pip install "likely[fits]"`).

Uncompressed files are memory-mapped, so a chunk reads only its own rows;
columns are converted from FITS' big-endian order to the machine's. A gzip
file (`.fits.gz`) cannot be memory-mapped: astropy decompresses the table
into memory when it is first read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from likely.errors import DataError

INSTALL_HINT = 'pip install "likely[fits]"'


def import_fits() -> Any:
    """`astropy.io.fits`, or an ImportError saying what to install."""
    try:
        from astropy.io import fits
    except ImportError as error:
        raise ImportError(
            f"Reading FITS tables needs astropy, which is not installed; run: {INSTALL_HINT}"
        ) from error
    return fits


@contextmanager
def _table(path: Path, hdu: int | str | None) -> Iterator[Any]:
    """Opens the file and yields the table HDU: `hdu` (index or name) or the first table."""
    fits = import_fits()
    table_types = (fits.BinTableHDU, fits.TableHDU)
    with fits.open(path, memmap=True, lazy_load_hdus=False) as hdus:
        if hdu is None:
            found = next((h for h in hdus if isinstance(h, table_types)), None)
            if found is None:
                raise DataError(f"FITS file {path} has no table HDU; HDUs: {_describe(hdus)}.")
        else:
            try:
                found = hdus[hdu]
            except (KeyError, IndexError) as error:
                raise DataError(
                    f"FITS file {path} has no HDU {hdu!r}; HDUs: {_describe(hdus)}."
                ) from error
            if not isinstance(found, table_types):
                raise DataError(
                    f"HDU {hdu!r} of FITS file {path} is a {type(found).__name__}, not a table; "
                    f"HDUs: {_describe(hdus)}."
                )
        yield found


def _describe(hdus: Any) -> str:
    return ", ".join(
        f"{index} {hdu.name or '(no name)'} ({type(hdu).__name__})"
        for index, hdu in enumerate(hdus)
    )


def _scalar_columns(table: Any) -> list[str]:
    """Columns holding one value per row (vector columns cannot be DataFrame columns)."""
    dtype = table.columns.dtype
    return [name for name in dtype.names if dtype[name].shape == ()]


def _native(values: Any) -> np.ndarray:
    """A copy of a FITS column in the machine's byte order, strings decoded."""
    array = np.asarray(values)
    if array.dtype.kind == "S":
        return np.char.decode(array, "ascii").astype(object)
    if array.dtype.kind == "U":
        return array.astype(object)
    return array.astype(array.dtype.newbyteorder("="))


def _frame(rows: Any, names: list[str]) -> pd.DataFrame:
    return pd.DataFrame({name: _native(rows[name]) for name in names})


def columns(path: Path, hdu: int | str | None = None) -> list[str]:
    with _table(path, hdu) as table:
        return _scalar_columns(table)


def read(path: Path, names: list[str], hdu: int | str | None = None) -> pd.DataFrame:
    with _table(path, hdu) as table:
        return _frame(table.data, names)


def chunks(
    path: Path, names: list[str], chunk_rows: int, hdu: int | str | None = None
) -> Iterator[pd.DataFrame]:
    with _table(path, hdu) as table:
        rows = int(table.header.get("NAXIS2", 0))
        data = table.data
        for start in range(0, rows, chunk_rows):
            # Slicing the rows first keeps column conversion (scaling, byte order)
            # to this chunk: the memory map pages in only these rows.
            yield _frame(data[start : start + chunk_rows], names)
        del data


def count(path: Path, hdu: int | str | None = None) -> int:
    with _table(path, hdu) as table:
        return int(table.header.get("NAXIS2", 0))
