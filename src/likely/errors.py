"""Errors about the user's input: the CLI prints them on one line and exits with code 2."""

from __future__ import annotations


class InputError(ValueError):
    """Bad input from the user: a file, a column, a value or a configuration setting.

    Subclasses `ValueError`, so library callers can catch either. The message
    is one line that says what was wrong, where, and what is allowed.
    """


class DataError(InputError):
    """A data file cannot be used: missing, unreadable, wrong columns or values."""


class ConfigError(InputError):
    """A configuration value is invalid."""


def first_line(error: BaseException) -> str:
    r"""The first line of an exception's message (its type name when empty), for one-line errors.

    Example:
        >>> first_line(OSError("disk full\nmore detail"))
        'disk full'
    """
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


__all__ = ["ConfigError", "DataError", "InputError", "first_line"]
