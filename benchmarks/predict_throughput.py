"""`likely predict` end to end against the in-memory forward + summaries rate, same run.

The model and data are those of `benchmarks.inference` (a 5-component
mixture MLP trained by `likely train`'s pipeline, 16 features): one Parquet
file of `--rows` rows is written, then

1. in memory, in this process: the file's features read into one array and
   `summarize(predict_distribution(model, x))` timed on it (mean, std, mode and
   5 quantiles: the columns `likely predict` writes), after one untimed
   round that compiles the shapes;
2. end to end: `likely predict MODEL INPUT -o OUTPUT` in a child process,
   for each output format asked (Parquet; the qp HDF5 file of
   `--output-format qp`), wall time and peak RSS; a run on a 1,000-row file
   gives the fixed cost (interpreter, imports, model loading), subtracted to
   give the rows/s of the prediction itself.

Target (issue 16): end-to-end rows/s >= half the in-memory rate; peak RSS
<= 1.5 GB on 2,000,000 rows.

Run:
    python -m benchmarks.predict_throughput                 # 2,000,000 rows
    python -m benchmarks.predict_throughput --rows 200000 --formats parquet
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import _common, inference

TARGET_FRACTION = 0.5
STARTUP_ROWS = 1_000
FORMATS = {"parquet": "output.parquet", "qp": "output.hdf5"}


@dataclass
class EndToEnd:
    format: str
    seconds: float
    peak_gb: float
    startup_seconds: float


@dataclass
class Throughput:
    rows: int
    in_memory: list[float]
    runs: list[EndToEnd] = field(default_factory=list)
    load_average: str = ""

    @property
    def in_memory_rate(self) -> float:
        return self.rows / _common.median(self.in_memory)

    def rate(self, run: EndToEnd, startup: bool = False) -> float:
        seconds = run.seconds if startup else max(run.seconds - run.startup_seconds, 1e-9)
        return self.rows / seconds


def in_memory_times(model_path: Path, input_path: Path, rounds: int) -> list[float]:
    """Seconds of forward + summaries on the whole file held in memory."""
    import keras
    import pyarrow.parquet as pq

    import likely
    from likely.experiment import find_feature_pipeline, summarize

    model = keras.saving.load_model(model_path)
    columns = find_feature_pipeline(model).input_columns
    x = pq.read_table(input_path, columns=columns).to_pandas().to_numpy(dtype="float32")

    def call() -> None:
        summarize(likely.predict_distribution(model, x))

    times, _ = _common.interleaved_times({"in_memory": call}, rounds=rounds, warmup=1)
    return times["in_memory"]


def predict_run(
    model_path: Path, input_path: Path, output: Path, format: str
) -> tuple[float, float]:
    """(wall seconds, peak RSS in GB) of one `likely predict` child process."""
    command = [
        sys.executable,
        "-c",
        "from likely.cli import main; main()",
        "predict",
        str(model_path),
        str(input_path),
        "-o",
        str(output),
    ]
    if format == "qp":
        command += ["--output-format", "qp"]
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", inference._MAX_RSS_WRAPPER, *command],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"likely predict failed:\n{done.stderr[-2000:]}")
    max_rss_kib = int(done.stdout.strip().splitlines()[-1])  # Linux: KiB
    return seconds, max_rss_kib * 1024 / 1e9


def run(rows: int = 2_000_000, rounds: int = 3, formats: tuple[str, ...] = ("parquet", "qp")):
    with tempfile.TemporaryDirectory(prefix="likely-bench-") as tmp:
        folder = Path(tmp)
        model = inference.train_pipeline_model(folder)
        inference.write_input(folder / "input.parquet", rows)
        inference.write_input(folder / "startup.parquet", STARTUP_ROWS)
        result = Throughput(rows, in_memory_times(model, folder / "input.parquet", rounds))
        result.load_average = _common.load_average()
        for format in formats:
            name = FORMATS[format]
            startup, _ = predict_run(
                model, folder / "startup.parquet", folder / f"startup-{name}", format
            )
            seconds, peak = predict_run(model, folder / "input.parquet", folder / name, format)
            result.runs.append(EndToEnd(format, seconds, peak, startup))
        result.load_average += " -> " + _common.load_average()
    return result


def section(result: Throughput) -> _common.Section:
    rows = [
        (
            "in memory: forward + mean, std, mode, 5 quantiles",
            f"{_common.median(result.in_memory):.2f}",
            f"{result.in_memory_rate:,.0f}",
            "1.00",
            "",
        )
    ]
    targets = []
    for run in result.runs:
        rate = result.rate(run)
        rows.append(
            (
                f"`likely predict`, {run.format} out (start-up {run.startup_seconds:.1f} s "
                "subtracted)",
                f"{run.seconds - run.startup_seconds:.2f}",
                f"{rate:,.0f}",
                f"{rate / result.in_memory_rate:.2f}",
                f"{run.peak_gb:.2f}",
            )
        )
        rows.append(
            (
                f"`likely predict`, {run.format} out, wall including start-up",
                f"{run.seconds:.2f}",
                f"{result.rate(run, startup=True):,.0f}",
                f"{result.rate(run, startup=True) / result.in_memory_rate:.2f}",
                "",
            )
        )
        targets.append(
            _common.Target(
                f"`likely predict` ({run.format}) / in-memory rows/s",
                f">= {TARGET_FRACTION}",
                f"{rate / result.in_memory_rate:.2f}",
                rate / result.in_memory_rate >= TARGET_FRACTION,
            )
        )
        targets.append(
            _common.Target(
                f"`likely predict` ({run.format}) peak memory, {result.rows:,} rows",
                f"<= {inference.TARGET_PEAK_GB} GB",
                f"{run.peak_gb:.2f} GB",
                run.peak_gb <= inference.TARGET_PEAK_GB,
            )
        )
    body = (
        f"{inference.NUM_COMPONENTS}-component mixture MLP trained by `likely train`'s "
        f"pipeline (16 features), a {result.rows:,}-row Parquet file, default chunks. "
        f"Load average (1/5/15 min) before -> after: {result.load_average}.\n\n"
        + _common.markdown_table(
            ["path", "seconds", "rows/s", "/ in memory", "peak RSS (GB)"], rows
        )
    )
    return _common.Section("`likely predict` throughput", body, targets)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--formats", default="parquet,qp", help="comma-separated: parquet, qp")
    args = parser.parse_args(argv)
    formats = tuple(f for f in args.formats.split(",") if f)
    out = section(run(args.rows, args.rounds, formats))
    print(out.body)
    print(_common.targets_table(out.targets))


if __name__ == "__main__":
    main()
