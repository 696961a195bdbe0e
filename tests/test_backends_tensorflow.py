"""Runs the backend-parity tests (marker `backends`) under TensorFlow (see test_backends.py)."""

import pytest
from backend_helpers import run_parity_suite


@pytest.mark.slow
def test_parity_suite_passes_on_tensorflow(pytestconfig):
    run_parity_suite("tensorflow", pytestconfig.rootpath)
