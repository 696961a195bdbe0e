"""`likely predict` end to end against the in-memory forward + summaries rate, same run.

The model and data are those of `benchmarks.inference` (a 5-component
mixture MLP trained by `likely train`'s pipeline, 16 features): one Parquet
file of `--rows` rows is written, then

1. in memory, in this process: the file's features read into one array and
   `summarize(predict_distribution(model, x))` timed on it (mean, std, mode and
   5 quantiles), after one untimed round that compiles the shapes; and, on
   the first 200,000 of those rows, the covariate-shift score that `likely
   train` saves in the model by default (`shift_score`; the Parquet output
   holds it), whose rate combines with the first into the in-memory rate of
   the table's columns;
2. end to end: `likely predict MODEL INPUT -o OUTPUT` in a child process,
   for each output format asked (Parquet; the qp HDF5 file of
   `--output-format qp`), wall time and peak RSS; a run on a 20,000-row file
   gives the fixed cost (interpreter, imports, model loading), subtracted to
   give the rows/s of the prediction itself.

Each end-to-end rate is compared with the in-memory rate of the same work:
the Parquet table with the shift score, the qp file (the mixture itself, the
mode and the mean; no shift score) with forward + summaries. The shift score
(a k-d tree query per row against 10,000 stored training rows) is reported
on its own: on these 16 independent normal features a k-d tree prunes
little, which makes it the worst case for the score's cost.

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
# More than one solver block (16,384 rows), so that the start-up run compiles what a
# full chunk needs and the timed run compiles nothing.
STARTUP_ROWS = 20_000
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
    in_memory: list[float]  # seconds of forward + summaries per round
    shift_rate: float  # rows/s of the covariate-shift score alone
    runs: list[EndToEnd] = field(default_factory=list)
    load_average: str = ""

    @property
    def in_memory_rate(self) -> float:
        return self.rows / _common.median(self.in_memory)

    @property
    def in_memory_shift_rate(self) -> float:
        """Rows/s of forward + summaries + shift score, one after the other."""
        return 1.0 / (1.0 / self.in_memory_rate + 1.0 / self.shift_rate)

    def reference_rate(self, run: EndToEnd) -> float:
        """In-memory rows/s of the work that `run`'s output holds."""
        return self.in_memory_shift_rate if run.format == "parquet" else self.in_memory_rate

    def rate(self, run: EndToEnd, startup: bool = False) -> float:
        seconds = run.seconds if startup else max(run.seconds - run.startup_seconds, 1e-9)
        return self.rows / seconds


SHIFT_ROWS = 200_000


def in_memory_times(model_path: Path, input_path: Path, rounds: int) -> tuple[list[float], float]:
    """Seconds of forward + summaries per round on the whole file; rows/s of the shift score."""
    import keras
    import pyarrow.parquet as pq

    import likely
    from likely.experiment import find_feature_pipeline, shift_score, summarize

    model = keras.saving.load_model(model_path)
    columns = find_feature_pipeline(model).input_columns
    x = pq.read_table(input_path, columns=columns).to_pandas().to_numpy(dtype="float32")

    def summaries() -> None:
        summarize(likely.predict_distribution(model, x))

    times, _ = _common.interleaved_times({"summaries": summaries}, rounds=rounds, warmup=1)
    subset = x[:SHIFT_ROWS]
    shift_score(model, subset[:1000])  # builds the k-d tree of the reference rows
    start = time.perf_counter()
    shift_score(model, subset)
    return times["summaries"], len(subset) / (time.perf_counter() - start)


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
        inference.write_input(folder / "startup.parquet", min(STARTUP_ROWS, rows))
        result = Throughput(rows, *in_memory_times(model, folder / "input.parquet", rounds))
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
            "",
            "",
        ),
        (
            f"in memory: covariate-shift score alone (on {min(result.rows, SHIFT_ROWS):,} rows)",
            "",
            f"{result.shift_rate:,.0f}",
            "",
            "",
        ),
        (
            "in memory: forward + summaries + shift score (the Parquet table's columns)",
            f"{result.rows / result.in_memory_shift_rate:.2f}",
            f"{result.in_memory_shift_rate:,.0f}",
            "",
            "",
        ),
    ]
    targets = []
    for run in result.runs:
        rate, reference = result.rate(run), result.reference_rate(run)
        rows.append(
            (
                f"`likely predict`, {run.format} out (start-up {run.startup_seconds:.1f} s "
                "subtracted)",
                f"{run.seconds - run.startup_seconds:.2f}",
                f"{rate:,.0f}",
                f"{rate / reference:.2f}",
                f"{run.peak_gb:.2f}",
            )
        )
        rows.append(
            (
                f"`likely predict`, {run.format} out, wall including start-up",
                f"{run.seconds:.2f}",
                f"{result.rate(run, startup=True):,.0f}",
                f"{result.rate(run, startup=True) / reference:.2f}",
                "",
            )
        )
        targets.append(
            _common.Target(
                f"`likely predict` ({run.format}) / in-memory rows/s of the same work",
                f">= {TARGET_FRACTION}",
                f"{rate / reference:.2f}",
                rate / reference >= TARGET_FRACTION,
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
    shift_share = 1.0 - result.in_memory_shift_rate / result.in_memory_rate
    body = (
        f"{inference.NUM_COMPONENTS}-component mixture MLP trained by `likely train`'s "
        f"pipeline (16 features), a {result.rows:,}-row Parquet file, default chunks. "
        f"Load average (1/5/15 min) before -> after: {result.load_average}. "
        "`/ in memory` is against the in-memory rate of the same work: the Parquet table "
        "holds the shift score, the qp file does not. The shift score takes "
        f"{shift_share:.0%} of the in-memory time of the table's columns here.\n\n"
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
