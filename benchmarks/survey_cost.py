"""Survey cost model: wall time and core-hours to predict 10^10 galaxies with PDFs, per family.

Measured in one run, each rate in a child process pinned to one CPU core (so
that XLA, and any BLAS or OpenMP pool, runs on that core only), for two
models trained by `likely train`'s pipeline on the same synthetic rows (16
features, the network 128 -> 128 -> 64, set here rather than taken from the
configuration's defaults): a mixture of 10 normals and a rational-quadratic spline flow
(16 bins on [-6, 6]). Recalibration is off, so the rates are those of the
heads themselves.

1. In memory: forward + summaries (mean, std, mode, 5 quantiles) of the
   `--rows` rows of the input file held in memory: the compute ceiling.
2. End to end: `likely predict` on the `--rows`-row Parquet file, in a
   process that has run it once on a 20,000-row file (that first run is the
   start-up a worker pays once: imports, model loading, compilation): the
   summaries table to Parquet, and the PDFs to a qp file, `mixmod` for the
   mixture (its exact parameters, 3 numbers per component) and `interp` on a
   grid of `--grid-points` points for both families (a spline flow has no qp
   parameterization of its own). The bytes per galaxy of every output file
   are measured too.

From these rates, the cost of predicting 10^10 galaxies on N cores (1, 128,
10,000): wall = start-up + 10^10 / (N x rate x efficiency) and core-hours =
N x wall, where `--efficiency` is the per-core efficiency of Dask workers
(rows/s of 2 pinned workers / twice that of 1, measured by
`benchmarks.dask_scaling`); with the storage of the outputs and the read +
write bandwidth the whole run needs.

Run:
    python -m benchmarks.survey_cost                 # 200,000 rows; writes RESULTS-survey-cost.md
    python -m benchmarks.survey_cost --rows 100000 --output cost.md
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import _common, inference, predict_throughput

GALAXIES = 10**10
CORES = (1, 128, 10_000)
GRID_POINTS = 301
MIN_TIMED_SECONDS = 1.0
SUPPORT = (-6.0, 6.0)  # the spline flow's interval; the synthetic targets lie well inside
DASK_EFFICIENCY = 0.875  # benchmarks/RESULTS-dask.md, 2026-12-02 (idle): 2 pinned workers 1.75x one
RESULTS = Path(__file__).resolve().parent / "RESULTS-survey-cost.md"
NETWORK = [128, 128, 64]  # a catalogue-scale network, fixed so that reruns stay comparable
# One network, not the default 5-member ensemble: the per-row cost of one model (an
# ensemble of M members costs about M times its dense layers).
FAMILIES = {
    "normal mixture (10 components)": {
        "hidden": NETWORK,
        "ensemble_size": 1,
        "head": "mixture",
        "num_components": 10,
    },
    "spline flow (16 bins)": {
        "hidden": NETWORK,
        "ensemble_size": 1,
        "head": "spline_flow",
        "head_options": {"low": SUPPORT[0], "high": SUPPORT[1]},
    },
}
# End to end in one process: `likely predict` on the 20,000-row file (imports, model
# loading, compilation: the start-up a worker pays once), then on the big file, timed.
_END_TO_END_CHILD = (
    "import json, resource, sys, time\n"
    "from likely.cli import main\n"
    "model, small, small_out, big, big_out, *extra = sys.argv[1:]\n"
    "times = []\n"
    "for source, target in ((small, small_out), (big, big_out)):\n"
    "    start = time.perf_counter()\n"
    "    main(['predict', model, source, '-o', target, *extra], standalone_mode=False)\n"
    "    times.append(time.perf_counter() - start)\n"
    # The peak of this process's own memory: VmHWM (ru_maxrss would report at least the
    # parent's peak, which Linux carries over fork and exec).
    "try:\n"
    "    with open('/proc/self/status') as status:\n"
    "        peak = next(int(l.split()[1]) for l in status if l.startswith('VmHWM:'))\n"
    "except OSError:\n"
    "    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
    "print(json.dumps([*times, peak]))\n"
)
_IN_MEMORY_CHILD = (
    "import json, sys\n"
    "from pathlib import Path\n"
    "from benchmarks.predict_throughput import in_memory_times\n"
    "summaries, _ = in_memory_times(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]))\n"
    "print(json.dumps(summaries))\n"
)


@dataclass
class Output:
    """One `likely predict` output of one family, end to end."""

    name: str
    seconds: float  # `likely predict` on the `rows`-row file, after the start-up run
    startup_seconds: float  # the first `likely predict` (20,000 rows) of the process
    peak_gb: float
    bytes_per_row: float

    def rate(self, rows: int) -> float | None:
        """Rows/s of `likely predict` once started; None when too few rows to time it (< 1 s)."""
        return rows / self.seconds if self.seconds >= MIN_TIMED_SECONDS else None


@dataclass
class FamilyCost:
    name: str
    in_memory: list[float]  # seconds per round, forward + summaries
    outputs: list[Output] = field(default_factory=list)


@dataclass
class SurveyCost:
    rows: int
    core: int | None  # the core every measurement ran on; None: not pinned
    efficiency: float
    input_bytes_per_row: float
    grid_points: int
    families: list[FamilyCost] = field(default_factory=list)
    load_average: str = ""
    unit: str = "core"  # what one rate is measured on: "core", or "GPU"
    counts: tuple[int, ...] = CORES  # the N of the cost table


def measurement_core() -> int | None:
    """The core the measurements are pinned to (the last this process may use); None: no pinning."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    return sorted(os.sched_getaffinity(0))[-1]


def pin_code(core: int) -> str:
    """Python source that pins its process, and the processes it starts, to one core."""
    return f"import os\nos.sched_setaffinity(0, {{{int(core)}}})\n"


def _child_env() -> dict[str, str]:
    root = str(Path(__file__).resolve().parents[1])
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": root + (os.pathsep + path if path else "")}


def _child(code: str, args: Sequence[str], core: int | None) -> list:
    """Runs `code` in a child process on `core` and returns the JSON list it prints last."""
    code = code if core is None else pin_code(core) + code
    done = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        env=_child_env(),
    )
    if done.returncode != 0:
        raise RuntimeError(f"a measurement failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def in_memory_rates(model: Path, input_path: Path, rounds: int, core: int | None) -> list[float]:
    """Seconds of forward + summaries per round, in a child process on `core`."""
    return _child(_IN_MEMORY_CHILD, [model, input_path, rounds], core)


def end_to_end(
    model: Path, folder: Path, output: Path, extra: Sequence[str], core: int | None
) -> tuple[float, float, float]:
    """(start-up s, seconds of the big file, peak RSS GB) of `likely predict` in one process."""
    small_out = output.with_name("startup-" + output.name)
    startup, seconds, max_rss_kib = _child(
        _END_TO_END_CHILD,
        [model, folder / "startup.parquet", small_out, folder / "input.parquet", output, *extra],
        core,
    )
    small_out.unlink()
    return startup, seconds, max_rss_kib * 1024 / 1e9  # KiB


def _outputs(spec: dict, grid_points: int) -> list[tuple[str, str, list[str]]]:
    """(label, file suffix, extra `likely predict` arguments) of a family's outputs."""
    grid = ["--output-format", "qp", "--pdf-grid", f"{SUPPORT[0]}:{SUPPORT[1]}:{grid_points}"]
    outputs = [("summaries table (Parquet)", ".parquet", [])]
    if spec["head"] == "mixture":
        outputs.append(("PDFs: qp mixmod (the mixture itself)", ".hdf5", ["--output-format", "qp"]))
    outputs.append((f"PDFs: qp interp, {grid_points}-point grid", ".hdf5", grid))
    return outputs


def measure_family(
    folder: Path, name: str, spec: dict, rows: int, rounds: int, grid_points: int, core: int | None
) -> FamilyCost:
    """Trains the family's model, then its in-memory and end-to-end rates on `core`."""
    tag = spec["head"]
    model = inference.train_pipeline_model(
        folder, model=spec, evaluation={"recalibrate": "none"}, name=f"run-{tag}"
    )
    family = FamilyCost(name, in_memory_rates(model, folder / "input.parquet", rounds, core))
    for i, (label, suffix, extra) in enumerate(_outputs(spec, grid_points)):
        output = folder / f"output-{tag}-{i}{suffix}"
        startup, seconds, peak = end_to_end(model, folder, output, extra, core)
        family.outputs.append(Output(label, seconds, startup, peak, output.stat().st_size / rows))
        output.unlink()
    return family


def run(
    rows: int = 200_000,
    rounds: int = 1,
    grid_points: int = GRID_POINTS,
    efficiency: float = DASK_EFFICIENCY,
    pin: bool = True,
    families: Sequence[str] | None = None,
) -> SurveyCost:
    """Every measurement of the cost model (`pin=False`: the processes are not pinned).

    `families`: names of `FAMILIES` to measure (default: all of them).
    """
    unknown = set(families or ()) - set(FAMILIES)
    if unknown:
        raise ValueError(f"unknown families {sorted(unknown)}; known: {sorted(FAMILIES)}")
    core = measurement_core() if pin else None
    with tempfile.TemporaryDirectory(prefix="likely-bench-") as tmp:
        folder = Path(tmp)
        inference.write_input(folder / "input.parquet", rows)
        inference.write_input(
            folder / "startup.parquet", min(predict_throughput.STARTUP_ROWS, rows)
        )
        result = SurveyCost(
            rows,
            core,
            efficiency,
            (folder / "input.parquet").stat().st_size / rows,
            grid_points,
            load_average=_common.load_average(),
        )
        for name, spec in FAMILIES.items():
            if families is not None and name not in families:
                continue
            result.families.append(
                measure_family(folder, name, spec, rows, rounds, grid_points, core)
            )
        result.load_average += " -> " + _common.load_average()
    return result


def _duration(seconds: float) -> str:
    for unit, size in (("days", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= 2 * size:
            return f"{seconds / size:,.1f} {unit}"
    return f"{seconds:,.0f} s"


def cost(
    rate: float, startup: float, cores: int, efficiency: float, galaxies: int = GALAXIES
) -> tuple[float, float]:
    """(wall seconds, core-hours) of `galaxies` rows at `rate` rows/s per core on `cores` cores.

    One core needs no scaling (efficiency 1); workers start in parallel, so the
    start-up counts once in the wall time and once per core in the core-hours.
    """
    per_core = rate * (1.0 if cores == 1 else efficiency)
    wall = startup + galaxies / (cores * per_core)
    return wall, cores * wall / 3600


def measured_table(result: SurveyCost) -> str:
    """Rows/s per core of every family and path, with bytes per galaxy and peak memory."""
    unit = result.unit
    rows = []
    for family in result.families:
        in_memory = result.rows / _common.median(family.in_memory)
        rows.append(
            (
                family.name,
                "in memory: forward + summaries",
                f"{_common.median(family.in_memory):.1f}",
                f"{in_memory:,.0f}",
                "1.00",
                "",
                "",
            )
        )
        for out in family.outputs:
            rate = out.rate(result.rows)
            rows.append(
                (
                    family.name,
                    f"`likely predict` -> {out.name} (start-up {out.startup_seconds:.1f} s)",
                    f"{out.seconds:.1f}",
                    "too few rows to time" if rate is None else f"{rate:,.0f}",
                    "" if rate is None else f"{rate / in_memory:.2f}",
                    f"{out.bytes_per_row:,.0f}",
                    f"{out.peak_gb:.2f}",
                )
            )
    return _common.markdown_table(
        [
            "family",
            "path",
            "seconds",
            f"rows/s per {unit}",
            "/ in memory",
            "output bytes / galaxy",
            "peak RSS (GB)",
        ],
        rows,
    )


def cost_table(result: SurveyCost) -> str:
    """Wall time, core-hours, storage and bandwidth for 10^10 galaxies on N cores."""
    unit = result.unit
    rows = []
    for family in result.families:
        for out in family.outputs:
            rate = out.rate(result.rows)
            if rate is None:
                continue
            storage_tb = GALAXIES * out.bytes_per_row / 1e12
            for n in result.counts:
                wall, hours = cost(rate, out.startup_seconds, n, result.efficiency)
                per_core = rate * (1.0 if n == 1 else result.efficiency)
                bandwidth = n * per_core * (result.input_bytes_per_row + out.bytes_per_row) / 1e9
                rows.append(
                    (
                        family.name,
                        out.name,
                        f"{n:,}",
                        _duration(wall),
                        f"{hours:,.0f}",
                        f"{storage_tb:,.1f}",
                        f"{bandwidth:,.2f}",
                    )
                )
    return _common.markdown_table(
        [
            "family",
            "output",
            f"{unit}s",
            "wall time",
            f"{unit}-hours",
            "output (TB)",
            "read + write (GB/s)",
        ],
        rows,
    )


def assumptions(result: SurveyCost) -> str:
    """The assumptions of the cost table, with the measured inputs they use."""
    pinned = f"pinned to core {result.core}" if result.core is not None else "not pinned"
    return "\n".join(
        [
            f"- Rates per {result.unit}: each measured on {result.rows:,} rows in one process "
            f"{pinned}, on this machine, with the load average given above; a shared or "
            "different CPU moves them. In memory is the median of the timed rounds; end to "
            "end, `likely predict` (reading, predicting, writing, model loading) in a process "
            "that has already run it once on 20,000 rows (its start-up: imports, model "
            "loading, compiling the solvers for full-size blocks).",
            "- The summaries table includes the covariate-shift score `likely train` saves in "
            "the model by default (distance to the 10th nearest of 10,000 training rows, a "
            "k-d tree query per galaxy); on 16 features it costs more than the network and "
            "the summaries together (`data.shift_score.enabled: false` leaves it out). The qp "
            "outputs do not compute it.",
            f"- Scaling: N workers, one per {result.unit}, deliver N x rate x "
            f"{result.efficiency:.2f} (the per-core efficiency of pinned Dask workers measured "
            "by `benchmarks.dask_scaling` on CPU cores"
            + ("" if result.unit == "core" else f", assumed for {result.unit}s")
            + "; 1 for N = 1). Assumed to hold up to 10,000 workers: "
            "every worker reads and writes its own partitions and nothing is shared but the "
            "scheduler (one small task per partition, so the catalogue needs at least N "
            "partitions, and many more for an even finish).",
            "- Start-up: every worker pays the measured start-up once (in parallel): it counts "
            "once in the wall time and once per core in the core-hours.",
            f"- I/O: input {result.input_bytes_per_row:.0f} bytes per galaxy (16 float32 "
            "features and an int64 id, Parquet, as written here); the last column is the "
            "aggregate read + write bandwidth the file system must sustain for the rates to "
            "hold. At 10,000 cores it is that of a large parallel file system; where it is "
            "not available the run is bound by I/O, not by likely, and its wall time is "
            "(input + output bytes) / bandwidth.",
            "- PDF output: qp `mixmod` stores the mixture exactly (weights, means and "
            "standard deviations per component); qp `interp` stores the density on the "
            f"grid ({result.grid_points} points here), so its size grows linearly with "
            "the grid (about 4 bytes per point, float32) and its cost with the number of "
            "density evaluations per galaxy. The summaries table (mean, std, mode, 5 "
            "quantiles, the covariate-shift score) is a few tens of bytes per galaxy.",
            "- Not counted: training, queueing, moving the catalogue to the nodes, "
            "recalibration (off in this measurement), and failures (a resubmitted run "
            "skips finished partitions).",
        ]
    )


def section(result: SurveyCost) -> _common.Section:
    """The cost model's section of RESULTS.md (no target: the issue asks for the table)."""
    body = (
        f"Each rate measured on {result.rows:,} rows; load average (1/5/15 min) before -> "
        f"after: {result.load_average}.\n\n"
        f"### Measured rates per {result.unit}\n\n{measured_table(result)}\n\n"
        f"### 10^10 galaxies with PDFs on N {result.unit}s\n\n{cost_table(result)}\n\n"
        f"### Assumptions\n\n{assumptions(result)}"
    )
    return _common.Section("Survey cost model", body)


def render(result: SurveyCost) -> str:
    """The text of RESULTS-survey-cost.md."""
    return (
        "# Survey cost model: 10^10 galaxies with PDFs\n\n"
        "Written by `python -m benchmarks.survey_cost` (see its docstring).\n\n"
        f"## Machine\n\n{_common.machine_markdown()}\n\n"
        + section(result).body.replace("### ", "## ")
        + "\n"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=1, help="in-memory rounds after one warm-up")
    parser.add_argument("--grid-points", type=int, default=GRID_POINTS)
    parser.add_argument(
        "--efficiency",
        type=float,
        default=DASK_EFFICIENCY,
        help=f"per-core Dask scaling efficiency [default: {DASK_EFFICIENCY}, measured]",
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="default: %(default)s")
    args = parser.parse_args(argv)
    if not 0 < args.efficiency <= 1:
        parser.error(f"--efficiency must be in (0, 1], got {args.efficiency}")
    result = run(args.rows, args.rounds, args.grid_points, args.efficiency)
    text = render(result)
    print(text)
    args.output.write_text(text)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
