"""Inference: forward pass against forward + summaries, and `likely predict`'s peak memory.

1. Throughput, in one process on the same 1,000,000 rows (by default), of a
   5-component mixture MLP (16 -> 128 -> 128 -> mixture head), trained
   briefly on bimodal synthetic data so that its components differ:
   - the bare forward pass, `model.predict(x, batch_size=4096)`;
   - forward + summaries: `likely.predict_distribution` and the table that
     `likely predict` writes (mean, std, mode, 5 quantiles).
   Target (issue 16): summaries cost at most 1.5x the forward pass.
2. Peak memory of `likely predict MODEL INPUT -o OUTPUT` on a 2,000,000-row
   Parquet file, with a model trained by `likely train`'s pipeline: the
   maximum resident set size of the child process (`getrusage(RUSAGE_CHILDREN)`
   in a wrapper process that runs nothing else). Target: <= 1.5 GB.

Run:
    python -m benchmarks.inference
    python -m benchmarks.inference --rows 20000 --predict-rows 20000
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks import _common

INPUT_DIM = 16
NUM_COMPONENTS = 5
HIDDEN = (128, 128)
TARGET_SUMMARY_RATIO = 1.5
TARGET_PEAK_GB = 1.5
_MAX_RSS_WRAPPER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "sys.exit(code)\n"
)


@dataclass
class Inference:
    rows: int
    forward: list[float]
    summaries: list[float]
    predict_rows: int
    predict_seconds: float | None
    predict_peak_gb: float | None
    breakdown: dict[str, float]  # seconds per part of forward + summaries, on a subset
    breakdown_rows: int

    @property
    def ratio(self) -> float:
        return _common.median(self.summaries) / _common.median(self.forward)


def make_data(rows: int, seed: int = 0):
    """x (rows, 16) and a bimodal target: one of two branches, chosen at random."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, INPUT_DIM)).astype("float32")
    branch = rng.integers(0, 2, size=rows) * 2 - 1
    y = np.sin(x @ rng.normal(size=INPUT_DIM)) + branch * (1 + 0.3 * x[:, 0])
    return x, (y + 0.2 * rng.normal(size=rows)).astype("float32")


def trained_mixture(train_rows: int = 50_000, epochs: int = 2):
    """The benchmark's 5-component mixture MLP, briefly trained."""
    import keras

    import likely

    x, y = make_data(train_rows, seed=1)
    model = likely.models.mlp(
        INPUT_DIM, hidden=HIDDEN, head="mixture", num_components=NUM_COMPONENTS, seed=0
    )
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss=likely.losses.nll)
    model.fit(x, y, batch_size=256, epochs=epochs, verbose=0)
    return model


def throughput(rows: int, rounds: int) -> tuple[list[float], list[float], dict[str, float]]:
    """Times (s) of the forward pass and of forward + summaries (interleaved), and a breakdown."""
    import likely
    from likely.experiment import summarize

    model = trained_mixture()
    x, _ = make_data(rows, seed=2)
    batch = likely.models.DEFAULT_PREDICT_BATCH_SIZE
    setups = {
        "forward": lambda: model.predict(x, batch_size=batch, verbose=0),
        "summaries": lambda: summarize(likely.predict_distribution(model, x)),
    }
    # One untimed round compiles the forward pass and the summaries' solvers
    # (once per process, as in `likely predict`).
    times, _ = _common.interleaved_times(setups, rounds=rounds, warmup=1)
    subset = x[: min(rows, 100_000)]
    breakdown(model, subset)  # compiles the parts' shapes for this subset
    return times["forward"], times["summaries"], breakdown(model, subset)


def breakdown(model, x) -> dict[str, float]:
    """Where forward + summaries spends its time: seconds per part, on the rows `x`."""
    import likely
    from likely.experiment._predict import DEFAULT_QUANTILES

    clock = time.perf_counter
    parts: dict[str, float] = {}
    start = clock()
    predictive = likely.predict_distribution(model, x)
    parts["forward pass (predict_distribution)"] = clock() - start
    start = clock()
    predictive.mean, predictive.stddev  # noqa: B018 - timed for their cost
    parts["mean + std"] = clock() - start
    start = clock()
    predictive.mode  # noqa: B018
    parts["mode (two climbs: safeguarded Newton)"] = clock() - start
    start = clock()
    predictive.quantiles(list(DEFAULT_QUANTILES))
    parts["5 quantiles (safeguarded Halley)"] = clock() - start
    return parts


def train_pipeline_model(
    folder: Path, model: dict | None = None, evaluation: dict | None = None, name: str = "run"
) -> Path:
    """A model trained by `likely train`'s pipeline on a small Parquet file.

    `model` and `evaluation` are the config's sections (default: the
    benchmark's 5-component mixture MLP, no plots); the model is written to
    `folder / name / "model.keras"`.
    """
    import pandas as pd

    from likely.experiment import parse_config
    from likely.experiment._run import run_training

    x, y = make_data(20_000, seed=3)
    columns = [f"f{i}" for i in range(INPUT_DIM)]
    frame = pd.DataFrame(x, columns=columns).assign(y=y, id=range(len(y)))
    if not (folder / "train.parquet").exists():
        frame.to_parquet(folder / "train.parquet")
    if model is None:
        model = {
            "hidden": list(HIDDEN),
            "head": "mixture",
            "num_components": NUM_COMPONENTS,
            "ensemble_size": 1,  # the in-memory reference is one network
        }
    config = parse_config(
        {
            "data": {
                "train": str(folder / "train.parquet"),
                "target": "y",
                "id_column": "id",
                "features": columns,
                "validation_fraction": 0.1,
            },
            "model": model,
            "training": {"epochs": 2},
            "evaluation": {"plots": False, **(evaluation or {})},
            "tracking": {"enabled": False},
        },
        source="benchmark",
    )
    run_training(config, output_dir=folder / name, progress=False)
    return folder / name / "model.keras"


def write_input(path: Path, rows: int, chunk: int = 500_000) -> None:
    """A Parquet file of `rows` rows (16 features and an id), written chunk by chunk."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(4)
    writer = None
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        data = {f"f{i}": rng.normal(size=n).astype("float32") for i in range(INPUT_DIM)}
        data["id"] = np.arange(start, start + n)
        table = pa.table(data)
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    if writer is not None:
        writer.close()


def predict_peak_memory(rows: int) -> tuple[float, float]:
    """(wall seconds, peak RSS in GB) of `likely predict` on a `rows`-row Parquet file."""
    with tempfile.TemporaryDirectory(prefix="likely-bench-") as tmp:
        folder = Path(tmp)
        model = train_pipeline_model(folder)
        write_input(folder / "input.parquet", rows)
        command = [
            sys.executable,
            "-c",
            "from likely.cli import main; main()",
            "predict",
            str(model),
            str(folder / "input.parquet"),
            "-o",
            str(folder / "output.parquet"),
        ]
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", _MAX_RSS_WRAPPER, *command],
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"likely predict failed:\n{done.stderr[-2000:]}")
        import pyarrow.parquet as pq

        written = pq.ParquetFile(folder / "output.parquet").metadata.num_rows
        if written != rows:
            raise RuntimeError(f"likely predict wrote {written} rows, expected {rows}")
        max_rss_kib = int(done.stdout.strip().splitlines()[-1])  # Linux: KiB
        return seconds, max_rss_kib * 1024 / 1e9


def run(rows: int = 1_000_000, rounds: int = 5, predict_rows: int | None = 2_000_000) -> Inference:
    """Both measurements; `predict_rows=None` skips the `likely predict` one."""
    forward, summaries, parts = throughput(rows, rounds)
    seconds = peak = None
    if predict_rows:
        seconds, peak = predict_peak_memory(predict_rows)
    return Inference(
        rows, forward, summaries, predict_rows or 0, seconds, peak, parts, min(rows, 100_000)
    )


def section(result: Inference) -> _common.Section:
    fwd, summ = _common.median(result.forward), _common.median(result.summaries)
    table = _common.markdown_table(
        ["path", "median time (s)", "rows/s", "timed runs (s)"],
        [
            (
                "bare forward pass (`model.predict`)",
                f"{fwd:.2f}",
                f"{result.rows / fwd:,.0f}",
                " ".join(f"{t:.2f}" for t in result.forward),
            ),
            (
                "forward + mean, std, mode, 5 quantiles",
                f"{summ:.2f}",
                f"{result.rows / summ:,.0f}",
                " ".join(f"{t:.2f}" for t in result.summaries),
            ),
        ],
    )
    body = (
        f"{NUM_COMPONENTS}-component mixture MLP (16 -> 128 -> 128), {result.rows:,} rows, "
        f"prediction batch {4096}.\n\n{table}"
    )
    total = sum(result.breakdown.values())
    body += (
        f"\n\nWhere the time goes (one pass over {result.breakdown_rows:,} of the rows):\n\n"
        + _common.markdown_table(
            ["part", "seconds", "share"],
            [(k, f"{v:.2f}", f"{100 * v / total:.0f}%") for k, v in result.breakdown.items()],
        )
    )
    targets = [
        _common.Target(
            "forward + summaries / forward",
            f"<= {TARGET_SUMMARY_RATIO}x",
            f"{result.ratio:.2f}x",
            result.ratio <= TARGET_SUMMARY_RATIO,
        )
    ]
    if result.predict_peak_gb is not None and result.predict_seconds is not None:
        body += (
            f"\n\n`likely predict` on a {result.predict_rows:,}-row Parquet file (16 features, "
            f"default 100,000-row chunks): {result.predict_seconds:.1f} s wall "
            f"({result.predict_rows / result.predict_seconds:,.0f} rows/s including start-up), "
            f"peak RSS {result.predict_peak_gb:.2f} GB."
        )
        targets.append(
            _common.Target(
                f"`likely predict` peak memory, {result.predict_rows:,} rows",
                f"<= {TARGET_PEAK_GB} GB",
                f"{result.predict_peak_gb:.2f} GB",
                result.predict_peak_gb <= TARGET_PEAK_GB,
            )
        )
    return _common.Section("Inference", body, targets)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--predict-rows", type=int, default=2_000_000, help="0 skips it")
    args = parser.parse_args(argv)
    out = section(run(args.rows, args.rounds, args.predict_rows or None))
    print(out.body)
    print(_common.targets_table(out.targets))


if __name__ == "__main__":
    main()
