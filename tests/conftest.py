"""Test configuration: JAX is the default backend; others are chosen with KERAS_BACKEND."""

import os

import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# The slowest files, slowest first (summed test durations of a full run): pytest-xdist
# hands them out first, so that no worker is left with one of them at the end while the
# other idles.
# scripts/test passes --no-loadscope-reorder, which keeps this order.
SLOW_FIRST = (
    "tests/test_backends_tensorflow.py",
    "tests/test_docs.py",
    "tests/test_estimators.py",
    "tests/test_backends.py",
    "tests/cli/test_tracking_cli.py",
    "tests/cli/test_demo.py",
    "tests/experiment/test_pipeline.py",
    "tests/cli/test_main_job.py",
    "tests/tracking/test_run_status.py",
    "tests/tracking/test_server.py",
    "tests/benchmarks/test_survey_cost.py",
    "tests/experiment/test_resume.py",
    "tests/benchmarks/test_predict_throughput.py",
    "tests/distributed/test_dask.py",
)


def pytest_collection_modifyitems(config, items):
    rank = {path: i for i, path in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))  # stable


@pytest.fixture(autouse=True)
def _environment_restored():
    """Each test leaves os.environ as it found it (the CLI, run in-process, sets defaults)."""
    saved = dict(os.environ)
    yield
    if dict(os.environ) != saved:
        os.environ.clear()
        os.environ.update(saved)
