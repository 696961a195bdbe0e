"""Griffe extension: likely's docstrings title their doctests `Example:` (Google style).

Griffe's Google parser reads only `Examples:` as a section of code examples
(it renders `Example:` as a plain admonition, which turns the doctest's
`>>>` lines into Markdown quotes). This extension reads both, so the API pages
show every docstring's example as highlighted Python.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_EXAMPLE = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)


class ExampleSections(griffe.Extension):
    """Renames `Example:` section titles to `Examples:` before the docstrings are parsed."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _EXAMPLE.sub(r"\1Examples:", obj.docstring.value)
