"""Runs the backend-parity tests (marker `backends`) under PyTorch.

The main run covers JAX; `test_backends_tensorflow.py` covers TensorFlow. The
two are separate files so that pytest-xdist runs them on different workers.
"""

import pytest
from backend_helpers import run_parity_suite


@pytest.mark.slow
def test_parity_suite_passes_on_torch(pytestconfig):
    run_parity_suite("torch", pytestconfig.rootpath)
