"""mkdocs hooks of likely's site: executed pages run as a new user's session would.

- Each page's code blocks (executed by markdown-exec) run in a fresh, empty
  working folder, removed after the build: a page that trains and tracks
  writes its `likely-runs/` and `./mlflow.db` there, never into the checkout,
  and no page sees another page's files. Environment variables a page sets
  are restored after it.
- `likely_docs` (beside this file) is importable by the pages: it turns the
  figures the code makes into images on the page, and tables into Markdown.
- Snippets (`--8<--`) are read from the repository root, whatever the
  working folder is.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
_state: dict[str, Any] = {}


def on_config(config: Any) -> Any:
    config.mdx_configs.setdefault("pymdownx.snippets", {})["base_path"] = [str(ROOT)]
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    return config


def on_pre_build(config: Any) -> None:
    _state["home"] = os.getcwd()
    _state["scratch"] = Path(tempfile.mkdtemp(prefix="likely-docs-"))
    # Temporary folders the pages make (tempfile.mkdtemp()) go into the scratch folder too.
    _state["tempdir"] = tempfile.tempdir
    tempfile.tempdir = str(_state["scratch"])
    # MLflow's progress bars and INFO lines are console noise during a build, as on the CLI.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    folder = _state["scratch"] / page.file.src_uri.replace("/", "__").removesuffix(".md")
    folder.mkdir(parents=True, exist_ok=True)
    _state["environ"] = dict(os.environ)
    os.chdir(folder)
    return markdown


def on_page_content(html: str, page: Any, config: Any, files: Any) -> str:
    os.chdir(_state["home"])
    saved = _state.pop("environ", None)
    if saved is not None and saved != dict(os.environ):
        os.environ.clear()
        os.environ.update(saved)
    return html


def on_post_build(config: Any) -> None:
    os.chdir(_state["home"])
    tempfile.tempdir = _state["tempdir"]
    shutil.rmtree(_state["scratch"], ignore_errors=True)
