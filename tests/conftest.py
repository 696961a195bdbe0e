"""Test configuration: JAX is the default backend; others are chosen with KERAS_BACKEND."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# The longest files of the suite (`--durations`: each runs for minutes in subprocesses),
# then every file with a `slow` test, go first: pytest-xdist's `--dist loadfile` hands
# files to its workers in collection order, so a long file collected last would run
# alone at the end while the other worker idles.
LONGEST_FIRST = (
    "test_docs.py",
    "test_backends_tensorflow.py",
    "test_backends.py",
    "benchmarks/test_survey_cost.py",
    "cli/test_demo.py",
    "test_estimators.py",
)


def pytest_collection_modifyitems(config, items):
    root = config.rootpath / "tests"

    def rank(item):
        path = item.path.relative_to(root).as_posix() if item.path.is_relative_to(root) else ""
        if path in LONGEST_FIRST:
            return LONGEST_FIRST.index(path)
        slow = any(other.get_closest_marker("slow") for other in by_file[item.path])
        return len(LONGEST_FIRST) + (0 if slow else 1)

    by_file = {}
    for item in items:
        by_file.setdefault(item.path, []).append(item)
    items.sort(key=rank)  # stable: the order within a file and within a rank is kept
