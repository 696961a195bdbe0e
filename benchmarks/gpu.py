"""GPU measurements in one command: training vs the lax.scan loop, prediction, ensemble cost.

On a machine whose JAX sees an NVIDIA GPU, runs in one process and writes
`benchmarks/RESULTS-gpu.md` with the device named:

1. `benchmarks.training_speed`: likely's default training path, plain Keras,
   and the hand-written JAX + optax loops (jitted step; whole epoch in one
   `lax.scan`), epoch by epoch in turn;
2. `benchmarks.inference`: rows/s of the bare forward pass and of forward +
   summaries (mean, std, mode, 5 quantiles);
3. `benchmarks.predict_throughput`: `likely predict` end to end (Parquet in,
   Parquet and qp out) against the in-memory rate;
4. `benchmarks.ensemble_cost`: one epoch of a 5-member ensemble against one
   member and a Python loop of 5;
5. `benchmarks.survey_cost`, per GPU: rows/s of both families in memory and
   end to end, and the cost of 10^10 galaxies on 1, 16 and 128 GPUs.

It refuses, with one `error:` line, exit status 2 and nothing written, when
JAX sees no GPU. Install the CUDA build of JAX first:

    pip install -e ".[cuda,bench]"
    python -m benchmarks.gpu              # sized for about 10 minutes (not yet run on a GPU)
    python -m benchmarks.gpu --quick      # tiny sizes: checks that everything runs
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

# JAX takes 75% of a GPU's memory when it starts unless told not to: the child
# processes (`likely predict`, the survey's in-memory runs) must find some.
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

from benchmarks import _common  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "RESULTS-gpu.md"
GPU_COUNTS = (1, 16, 128)


def gpu_devices() -> list:
    """The GPUs JAX sees (an empty list on a CPU-only machine or install)."""
    import jax

    try:
        return list(jax.devices("gpu"))
    except RuntimeError:  # no GPU backend: CPU-only jaxlib, no driver, or JAX_PLATFORMS=cpu
        return []


def describe(devices: list) -> str:
    """The GPUs as a Markdown line: JAX's device kind, count, and nvidia-smi's view."""
    import jax

    kinds = sorted({d.device_kind for d in devices})
    line = f"- GPU: {len(devices)} x {', '.join(kinds)} (JAX {jax.__version__}, `{devices[0]}`)"
    if shutil.which("nvidia-smi"):
        done = subprocess.run(
            [
                "nvidia-smi",
                "--query-gpu=name,driver_version,memory.total",
                "--format=csv,noheader",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode == 0 and done.stdout.strip():
            line += "; nvidia-smi: " + "; ".join(done.stdout.strip().splitlines())
    return line


def sections(quick: bool) -> Iterator[_common.Section]:
    """Every measurement in turn, each a RESULTS section."""
    from benchmarks import __main__ as suite
    from benchmarks import inference, predict_throughput, survey_cost, training_speed

    rows, epochs = (5_000, 1) if quick else (200_000, 7)
    yield training_speed.section(training_speed.run(rows=rows, epochs=epochs, course=False))
    if quick:
        yield inference.section(inference.run(rows=5_000, rounds=1, predict_rows=None))
        yield predict_throughput.section(predict_throughput.run(rows=5_000, rounds=1))
    else:
        yield inference.section(inference.run(rows=1_000_000, rounds=5, predict_rows=None))
        yield predict_throughput.section(predict_throughput.run(rows=2_000_000, rounds=3))
    yield suite.ensemble_cost(quick)
    cost = survey_cost.run(rows=5_000 if quick else 1_000_000, rounds=1 if quick else 2, pin=False)
    yield survey_cost.section(dataclasses.replace(cost, unit="GPU", counts=GPU_COUNTS))


def render(
    parts: list[_common.Section], gpu_line: str, seconds: float, load: str, quick: bool
) -> str:
    """The text of RESULTS-gpu.md."""
    targets = [t for s in parts for t in s.targets]
    lines = [
        "# likely on a GPU",
        "",
        "Written by `python -m benchmarks.gpu`" + (" --quick (tiny sizes)" if quick else "") + ". "
        "Speed is reported as ratios against references measured in the same run.",
        "",
        "## Machine",
        "",
        _common.machine_markdown(),
        gpu_line,
        f"- load average (1 / 5 / 15 min): {load} before, {_common.load_average()} after; "
        f"wall time {seconds / 60:.1f} min",
        "",
        "## Targets",
        "",
        _common.targets_table(targets),
    ]
    for s in parts:
        lines += ["", f"## {s.title}", "", s.body]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke run)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="default: %(default)s")
    args = parser.parse_args(argv)
    devices = gpu_devices()
    if not devices:
        import jax

        print(
            f"error: no GPU: JAX {jax.__version__} sees only {jax.devices()}; on a machine with "
            'an NVIDIA GPU, pip install -e ".[cuda,bench]" and rerun python -m benchmarks.gpu '
            "(nothing was written)",
            file=sys.stderr,
        )
        return 2
    gpu_line = describe(devices)
    print(gpu_line, flush=True)
    load = _common.load_average()
    start = time.perf_counter()
    parts = []
    for part in sections(args.quick):
        print(f"== {part.title}\n{part.body}\n", flush=True)
        parts.append(part)
    text = render(parts, gpu_line, time.perf_counter() - start, load, args.quick)
    args.output.write_text(text)
    print(_common.targets_table([t for s in parts for t in s.targets]))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
