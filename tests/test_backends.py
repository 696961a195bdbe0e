"""Runs the backend-parity tests (marker `backends`) under PyTorch and TensorFlow.

Keras picks its backend once per process, so each backend gets a fresh
pytest process. The main run covers JAX. A missing backend package skips
its run locally and fails it in CI, where the extras are installed.
"""

import importlib.util
import os
import subprocess
import sys

import pytest

PACKAGES = {"torch": "torch", "tensorflow": "tensorflow"}


@pytest.mark.slow
@pytest.mark.parametrize("backend", sorted(PACKAGES))
def test_parity_suite_passes_on_backend(backend, pytestconfig):
    if importlib.util.find_spec(PACKAGES[backend]) is None:
        message = f"{PACKAGES[backend]} is not installed (pip install -e '.[{backend}]')"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-m",
            "backends",
            "-q",
            "-p",
            "no:cacheprovider",
            "-W",
            "ignore::DeprecationWarning",
            str(pytestconfig.rootpath / "tests"),
        ],
        env=env,
        capture_output=True,
        text=True,
        cwd=pytestconfig.rootpath,
    )
    tail = "\n".join(result.stdout.splitlines()[-30:])
    assert result.returncode == 0, f"{backend} backend run failed:\n{tail}\n{result.stderr[-3000:]}"
    assert " passed" in tail and "no tests ran" not in tail, tail
