"""Formats, suffixes and the checks every reader and writer shares."""

from __future__ import annotations

import difflib
import os
import sys
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from likely.errors import DataError

READ_FORMATS = ("csv", "fits", "hdf5", "parquet")
WRITE_FORMATS = ("csv", "parquet")

# Longest suffixes first, so ".fits.gz" wins over ".gz".
_SUFFIXES = {
    ".csv.gz": "csv",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".hdf5": "hdf5",
    ".h5": "hdf5",
    ".hdf": "hdf5",
    ".fits.gz": "fits",
    ".fit.gz": "fits",
    ".fits": "fits",
    ".fit": "fits",
}
_ALIASES = {"pq": "parquet", "h5": "hdf5", "hdf": "hdf5", "fit": "fits"}
_LABELS = {"csv": "CSV", "parquet": "Parquet", "hdf5": "HDF5", "fits": "FITS"}
# How many names an error message lists before it says "and N more".
_MAX_LISTED = 20


def infer_format(path: str | os.PathLike, format: str | None = None, *, write: bool = False) -> str:
    """The table format of `path`: `format` when given, else read from the file's suffix.

    Args:
        path: File name; only its suffix is looked at.
        format: Explicit format ("csv", "parquet", "hdf5", "fits"; "pq", "h5",
            "hdf" and "fit" are accepted aliases), or None to infer it.
        write: Whether the file is an output, which may only be CSV or Parquet.

    Returns:
        The canonical format name.

    Raises:
        DataError: The format is unknown, or cannot be written.

    Example:
        >>> from likely.io import infer_format
        >>> infer_format("catalog.fits.gz"), infer_format("x.dat", "H5")
        ('fits', 'hdf5')
    """
    allowed = WRITE_FORMATS if write else READ_FORMATS
    what = "output" if write else "data"
    if format is not None:
        name = str(format).strip().lower()
        name = _ALIASES.get(name, name)
        if name not in allowed:
            raise DataError(
                f"Unknown {what} format {format!r} for {path}; allowed: {_quoted(allowed)}."
            )
        return name
    lowered = Path(path).name.lower()
    for suffix, name in _SUFFIXES.items():
        if lowered.endswith(suffix) and name in allowed:
            return name
    suffixes = [s for s, name in _SUFFIXES.items() if name in allowed]
    if write:  # a table output's format is its suffix (qp files are asked for explicitly)
        raise DataError(
            f"Cannot tell the format of {what} file {path} from its name; end it with one of "
            f"{', '.join(suffixes)}."
        )
    raise DataError(
        f"Cannot tell the format of {what} file {path} from its name; use a suffix among "
        f"{', '.join(suffixes)} or give the format explicitly (one of {_quoted(allowed)})."
    )


def format_label(format: str) -> str:
    """The name of a format as written in messages ("Parquet", "HDF5")."""
    return _LABELS[format]


def check_input_file(path: str | os.PathLike) -> Path:
    """Fails with a `DataError` unless `path` is an existing file."""
    resolved = Path(path).expanduser()
    if not resolved.exists():
        raise DataError(f"Data file not found: {path}")
    if resolved.is_dir():
        raise DataError(f"Data path {path} is a directory; a single table file is expected.")
    return resolved


def check_columns(
    requested: Sequence[str] | None, available: Sequence[str], source: object
) -> list[str]:
    """The columns to read: `requested` (deduplicated, in order) or all of `available`.

    Raises:
        DataError: Some requested columns are not available; the message names
            them, suggests close matches and lists the available columns.
    """
    if requested is None:
        return list(available)
    if isinstance(requested, str):
        requested = [requested]
    wanted = list(dict.fromkeys(requested))
    present = set(available)
    missing = [name for name in wanted if name not in present]
    if missing:
        hints = []
        for name in missing:
            close = difflib.get_close_matches(str(name), [str(a) for a in available], n=1)
            if close:
                hints.append(f"{name!r} -> {close[0]!r}")
        hint = f" (did you mean {', '.join(hints)}?)" if hints else ""
        noun = "column" if len(missing) == 1 else "columns"
        raise DataError(
            f"Unknown {noun} {_quoted(missing)} in {source}{hint}; "
            f"available ({len(available)}): {_listed(sorted(map(str, available)))}."
        )
    return wanted


def one_line(error: BaseException) -> str:
    """An exception's message on one line (library messages often span several)."""
    text = " ".join(str(error).split())
    return text or type(error).__name__


def _quoted(names: Iterable[object]) -> str:
    return ", ".join(repr(name) for name in names)


def _listed(names: Sequence[str]) -> str:
    shown = _quoted(names[:_MAX_LISTED])
    if len(names) > _MAX_LISTED:
        shown += f", ... and {len(names) - _MAX_LISTED} more"
    return shown


def _library_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [OSError, ValueError, EOFError, zlib.error]
    # Only libraries already imported can have raised; importing one here would be waste.
    pyarrow = sys.modules.get("pyarrow")
    if pyarrow is not None:
        errors.append(pyarrow.ArrowException)
    verify = sys.modules.get("astropy.io.fits.verify")
    if verify is not None:
        errors.append(verify.VerifyError)
    return tuple(errors)


@contextmanager
def reading(path: str | os.PathLike, format: str) -> Iterator[None]:
    """Turns the errors a library raises on a bad file into a one-line `DataError`."""
    try:
        yield
    except DataError:
        raise
    except _library_errors() as error:
        raise DataError(
            f"Cannot read {path} as {format_label(format)}: {one_line(error)}"
        ) from error
