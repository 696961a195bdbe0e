"""A one-file HTML report of a run: its metrics table and its plots, for MLflow's artifact view."""

from __future__ import annotations

import base64
import html
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.3em; overflow-wrap: anywhere; }
table { border-collapse: collapse; margin-bottom: 1.5em; }
td, th { padding: 0.25em 0.9em; border-bottom: 1px solid #ddd; text-align: left; }
td.value { text-align: right; font-variant-numeric: tabular-nums; }
figure { display: inline-block; margin: 0 1em 1em 0; vertical-align: top; }
figure img { max-width: 700px; width: 100%; }
figcaption { font-size: 0.9em; color: #555; }
"""


def report_html(
    title: str,
    metrics: Mapping[str, float],
    images: Sequence[str | os.PathLike] = (),
) -> str:
    """A self-contained HTML page: a table of `metrics` and the PNG `images`, embedded.

    MLflow's UI shows an HTML artifact in its artifact view, so a run's
    `report.html` puts its numbers and figures on one page.

    Args:
        title: Heading of the page (e.g. the run's name).
        metrics: Metric name to value.
        images: PNG files, shown in order with their file name as caption.

    Returns:
        The HTML text.

    Example:
        >>> from likely.tracking import report_html
        >>> page = report_html("run 1", {"crps": 0.0812})
        >>> "<td>crps</td>" in page and "0.0812" in page
        True
    """
    rows = "\n".join(
        f"<tr><td>{html.escape(str(name))}</td><td class='value'>{_number(value)}</td></tr>"
        for name, value in metrics.items()
    )
    figures = "\n".join(_figure(Path(path)) for path in images)
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>\n"
        f"<h1>{html.escape(title)}</h1>\n"
        + (f"<table><tr><th>metric</th><th>value</th></tr>\n{rows}\n</table>\n" if rows else "")
        + figures
        + "\n</body></html>\n"
    )


def _number(value: float) -> str:
    number = float(value)
    return "nan" if math.isnan(number) else f"{number:.5g}"


def _figure(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    name = html.escape(path.name)
    return (
        f"<figure><img alt='{name}' src='data:image/png;base64,{data}'>"
        f"<figcaption>{name}</figcaption></figure>"
    )
