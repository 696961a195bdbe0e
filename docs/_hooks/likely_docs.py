"""Helpers for the executed pages: figures and tables the code makes, shown on the page.

Pages call these on lines marked `# markdown-exec: hide`, so a reader sees
only the code that made the figure or table.
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any


def figure(fig: Any, alt: str, dpi: int = 96) -> str:
    """The matplotlib figure (or the figure of an Axes, or of an array of Axes) as an <img>.

    The PNG is embedded in the page (a data URI): the site needs no extra
    files and works offline.
    """
    import numpy as np

    if isinstance(fig, np.ndarray):
        fig = fig.flat[0]
    fig = getattr(fig, "figure", fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img class="likely-figure" alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def table(frame: Any, floatfmt: str = ".4g", index: bool = False) -> str:
    """A pandas DataFrame (or a dict of columns) as a Markdown table."""
    import pandas as pd

    frame = pd.DataFrame(frame)
    if index:
        frame = frame.reset_index()

    def cell(value: Any) -> str:
        if isinstance(value, float):
            text = format(value, floatfmt)
        else:
            text = str(value)
        return text.replace("|", "\\|")

    lines = [
        "| " + " | ".join(str(c) for c in frame.columns) + " |",
        "| " + " | ".join("---" for _ in frame.columns) + " |",
    ]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(False)]
    return "\n".join(lines) + "\n"


def cli(command: str) -> str:
    """Runs a `likely ...` command line in this process and shows it as a console session.

    The same click command as the `likely` executable, run in-process (the
    page's Keras is already imported, so no start-up cost). A command that
    fails (exit code not 0) raises, and so fails the site's build; a command
    whose output should show the failure is run with `check=False`.
    """
    return _cli(command, check=True)


def cli_error(command: str) -> str:
    """As `cli`, for a command expected to fail with exit code 2 (shown with its error line)."""
    return _cli(command, check=False)


def _cli(command: str, check: bool) -> str:
    import shlex

    from click.testing import CliRunner

    from likely.cli import main

    args = shlex.split(command)
    if args[0] != "likely":
        raise ValueError(f"not a likely command: {command!r}")
    result = CliRunner().invoke(main, args[1:], catch_exceptions=False)
    if check and result.exit_code != 0:
        raise RuntimeError(f"{command!r} exited with {result.exit_code}:\n{result.output}")
    if not check and result.exit_code != 2:
        raise RuntimeError(f"{command!r} was expected to fail (exit 2); got {result.exit_code}")
    output = result.output.rstrip()
    code = "" if result.exit_code == 0 else f"\n$ echo $?\n{result.exit_code}"
    return f"```console\n$ {command}\n{output}{code}\n```\n"


def config_reference(model: Any, prefix: str = "", level: int = 2, anchor: str = "") -> str:
    """Markdown tables of a pydantic config class, one section per nested model.

    Each row is a field: its dotted name, type, default, constraints and
    description, read from the class itself (so the reference cannot drift
    from the code). `anchor` prefixes the sections' HTML ids.
    """
    import inspect

    from pydantic import BaseModel
    from pydantic_core import PydanticUndefined

    out, nested = [], []
    title = prefix or model.__name__
    ident = (anchor + title).replace(".", "-").replace("<", "").replace(">", "").lower()
    out.append(f"{'#' * level} `{title}` {{ #{ident} }}\n")
    doc = model.__dict__.get("__doc__")
    if doc:
        out.append(inspect.cleandoc(doc).split("\n\n")[0] + "\n")
    out.append("| field | type | default | description |\n| --- | --- | --- | --- |")
    for name, field in model.model_fields.items():
        dotted = f"{prefix}.{name}" if prefix else name
        description = (field.description or "").replace("\n", " ")
        limits = ", ".join(_constraint(m) for m in field.metadata if _constraint(m))
        if limits:
            description = f"{description} ({limits})" if description else limits
        section = _section_class(field.annotation)
        if section is not None:
            key = dotted if not _is_mapping(field.annotation) else f"{dotted}.<setting>"
            nested.append((section, key))
            link = (anchor + key).replace(".", "-").replace("<", "").replace(">", "").lower()
            description = description or f"see [`{key}`](#{link})"
        if field.default is PydanticUndefined and field.default_factory is None:
            default = "**required**"
        else:
            value = field.default_factory() if field.default_factory else field.default
            default = "(section)" if isinstance(value, BaseModel) else f"`{value!r}`"
        cells = [f"`{dotted}`", f"`{_type_name(field.annotation)}`", default, description]
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    out.append("")
    for section, key in nested:
        out.append(config_reference(section, key, level=level + 1, anchor=anchor))
    return "\n".join(out)


def _section_class(annotation: Any) -> Any:
    import inspect

    from pydantic import BaseModel

    stack = [annotation]
    while stack:
        candidate = stack.pop()
        if inspect.isclass(candidate) and issubclass(candidate, BaseModel):
            return candidate
        stack.extend(getattr(candidate, "__args__", ()))
    return None


def _is_mapping(annotation: Any) -> bool:
    return getattr(annotation, "__origin__", None) is dict


def _type_name(annotation: Any) -> str:
    import types
    import typing

    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in args)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in args)
    if origin is not None:
        inner = ", ".join(_type_name(a) for a in args)
        return f"{getattr(origin, '__name__', str(origin))}[{inner}]"
    if annotation is type(None):
        return "None"
    if annotation is typing.Any:
        return "Any"
    return getattr(annotation, "__name__", str(annotation))


def _constraint(metadata: Any) -> str:
    for attribute, symbol in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
        value = getattr(metadata, attribute, None)
        if value is not None:
            return f"{symbol} {value}"
    if getattr(metadata, "min_length", None) is not None:
        return f"at least {metadata.min_length} items"
    return ""


def write_file(path: str, text: str, language: str = "yaml") -> str:
    """Writes `text` to `path` (in the page's working folder) and shows it as a titled block.

    The file the next command reads is exactly the one the page shows.
    """
    from pathlib import Path

    text = text.strip("\n") + "\n"
    Path(path).write_text(text)
    return f'```{language} title="{path}"\n{text}```\n'


def show_file(path: str, language: str = "yaml") -> str:
    """A file the code wrote (e.g. by `likely init`), shown as a titled block."""
    from pathlib import Path

    return f'```{language} title="{path}"\n{Path(path).read_text().rstrip()}\n```\n'


def repository_root() -> Any:
    """The root of the checkout the site is built from (pages run in a scratch folder)."""
    from pathlib import Path

    return Path(__file__).resolve().parents[2]
