"""Where forward + summaries spends its time: a py-spy profile, written to PROFILE.md.

The workload is the inference benchmark's (`benchmarks.inference`): the
5-component mixture MLP on 1,000,000 rows, `summarize(predict_distribution(...))`
(forward pass, mean, std, mode, 5 quantiles, the output table). A child
process compiles once, then runs the workload `--rounds` times under
`py-spy record`; only the samples taken inside those timed rounds count.
Each sample is attributed to the first part of the pipeline on its stack.
JAX runs compiled code on its own threads, so the Python stacks show the
time spent dispatching blocks and waiting for their results (`--idle`: the
main thread is sampled while it waits, too).

Run (py-spy is in `likely[bench]`):
    python -m benchmarks.profile_summaries
    python -m benchmarks.profile_summaries --rows 100000 --rounds 1
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from benchmarks import _common

OUTPUT = Path(__file__).resolve().parent / "PROFILE.md"
_TIMED_MARK = "timed_rounds"  # the function whose samples count
# (part, substring of a frame that identifies it), first match wins
PARTS = [
    ("forward pass (Keras predict)", "Trainer.predict"),
    ("head output -> distribution (with validation)", "predictive_from_params"),
    ("mode (two climbs: safeguarded Newton)", "Predictive.mode"),
    ("5 quantiles (safeguarded Halley)", "Predictive.quantiles"),
    ("std", "Predictive.stddev"),
    ("mean", "Predictive.mean"),
    ("output table (pandas)", "DataFrame"),
]
# Within the solver (one compiled XLA computation per block of rows on JAX):
# host-side work against waiting for the compiled blocks.
SOLVER_PARTS = [
    ("waiting for a block's results (XLA compute)", "solve_rows.<locals>.<listcomp>"),
    ("padding a block's rows (NumPy)", "_pad"),
]


def workload(rows: int):
    """The model, the rows, and the pipeline to time."""
    import likely
    from benchmarks.inference import make_data, trained_mixture
    from likely.experiment import summarize

    model = trained_mixture()
    x, _ = make_data(rows, seed=2)
    return lambda: summarize(likely.predict_distribution(model, x))


def timed_rounds(pipeline, rounds: int) -> None:
    for _ in range(rounds):
        pipeline()


def attribute(raw: str) -> tuple[Counter, Counter, int]:
    """Samples per part and per solver activity, from py-spy's raw (collapsed) output."""
    parts: Counter = Counter()
    solver: Counter = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if _TIMED_MARK not in stack or not count.isdigit():
            continue
        frames = stack[stack.index(_TIMED_MARK) :]
        n = int(count)
        total += n
        part = next((name for name, key in PARTS if key in frames), "other")
        parts[part] += n
        if "solve" in frames:
            activity = next((name for name, key in SOLVER_PARTS if key in frames), "other")
            solver[activity] += n
    return parts, solver, total


def report(parts: Counter, solver: Counter, total: int, rows: int, rounds: int) -> str:
    def table(counter: Counter) -> str:
        return _common.markdown_table(
            ["part", "share of samples"],
            [(name, f"{100 * n / total:.0f}%") for name, n in counter.most_common()],
        )

    return (
        "# Profile: forward + summaries\n\n"
        "Written by `python -m benchmarks.profile_summaries` (py-spy, 200 samples/s): "
        f"{rows:,} rows, {rounds} timed rounds, {total} samples.\n\n"
        f"{_common.machine_markdown()}\n\n"
        "## Where the time goes\n\n"
        f"{table(parts)}\n\n"
        "## Inside the quantile and mode solver\n\n"
        f"{table(solver)}\n"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    if args.worker:
        pipeline = workload(args.rows)
        pipeline()  # compiles, outside the samples that count
        timed_rounds(pipeline, args.rounds)
        return
    py_spy = shutil.which("py-spy")
    if py_spy is None:
        raise SystemExit("py-spy is not installed: pip install 'likely[bench]'")
    with tempfile.TemporaryDirectory(prefix="likely-profile-") as tmp:
        raw = Path(tmp) / "profile.txt"
        command = [sys.executable, "-m", "benchmarks.profile_summaries", "--worker"]
        command += ["--rows", str(args.rows), "--rounds", str(args.rounds)]
        subprocess.run(
            [py_spy, "record", "--idle", "-r", "200", "-f", "raw", "-o", str(raw), "--", *command],
            check=True,
            capture_output=True,
        )
        parts, solver, total = attribute(raw.read_text())
    text = report(parts, solver, total, args.rows, args.rounds)
    args.output.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
