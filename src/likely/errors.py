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


__all__ = ["ConfigError", "DataError", "InputError"]
