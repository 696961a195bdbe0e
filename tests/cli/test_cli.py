"""The command group: `likely --help` and every command's `--help` load no deep-learning stack."""

import os
import re
import subprocess
import sys

import pytest

from likely.cli import main

HEAVY = {"keras", "jax", "jaxlib", "tensorflow", "torch", "mlflow", "matplotlib"}
# One line of `python -X importtime`: "import time: self | cumulative | [indent]name".
IMPORT_LINE = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)$")


def _imported(*args: str) -> tuple[subprocess.CompletedProcess, set[str]]:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "likely", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        timeout=120,
    )
    names = {m.group(1) for line in result.stderr.splitlines() if (m := IMPORT_LINE.match(line))}
    return result, names


@pytest.mark.parametrize("command", [None, *sorted(main.commands)])
def test_help_imports_no_deep_learning_stack(command: str | None) -> None:
    result, names = _imported(*([command] if command else []), "--help")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Usage:" in result.stdout
    assert "click" in names  # the import log was read
    assert not {name.split(".")[0] for name in names} & HEAVY, sorted(names)
