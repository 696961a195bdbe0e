"""Dask catalog prediction: throughput with 1 and 2 workers, and per-worker peak memory.

Writes a synthetic catalog (default 5,000,000 rows in 20 Parquet partitions,
6 feature columns and an id) to a temporary folder, then predicts it with
`likely.distributed.predict_catalog` on the local cluster of
`likely.distributed.local_client` with 1 worker, then with 2 workers, in the
same run: one-thread worker processes, each pinned to its own core (so its
XLA runs on one thread) with `single_thread_env()`. The model is an untrained `mlp` 6 -> 64 -> 64 ->
mixture of 5 Gaussians with a `FeaturePipeline`, so the cost per row is that
of a trained model of this size: forward pass, mean/std/mode and 5 quantiles.

Cluster start-up is excluded: before the timed run, every worker loads the
model and predicts one chunk (compilation). The timed run is the whole
`predict_catalog` call (reading, predicting, writing). Reported: rows/s, the
2-worker / 1-worker throughput ratio, each worker's peak resident memory
(`ru_maxrss`), and the machine's load average before and after (this is a
shared 2-core machine: the load of other work is part of the result).
Target (issue 16): 2 workers >= 1.7x one worker on 2 cores.

Run:
    python -m benchmarks.dask_scaling                      # 5M rows, 20 partitions
    python -m benchmarks.dask_scaling --rows 500000 --partitions 8
    python -m benchmarks.dask_scaling --unpinned           # plain LocalCluster, for comparison
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import resource
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

COLUMNS = [f"f{i}" for i in range(6)]
TARGET_RATIO = 1.7


def write_catalog(folder: Path, rows: int, partitions: int, seed: int = 0) -> list[Path]:
    rng = np.random.default_rng(seed)
    paths, start = [], 0
    for i, n in enumerate(np.diff(np.linspace(0, rows, partitions + 1).astype(int))):
        frame = pd.DataFrame(rng.normal(size=(n, len(COLUMNS))).astype("float32"), columns=COLUMNS)
        frame.insert(0, "object_id", np.arange(start, start + n, dtype="int64"))
        path = folder / f"part-{i:03d}.parquet"
        frame.to_parquet(path, index=False)
        paths.append(path)
        start += n
    return paths


def write_model(path: Path) -> None:
    from likely.experiment import FeaturePipeline
    from likely.models import mlp

    features = FeaturePipeline(COLUMNS, id_column="object_id")
    model = mlp(
        len(COLUMNS),
        hidden=(64, 64),
        head="mixture",
        num_components=5,
        normalizer=features,
        seed=0,
    )
    model.save(path)


def _warm_up(model: str, chunk_rows: int) -> int:
    """On a worker: load the model (cached) and compile the prediction for one chunk."""
    from likely.distributed._dask import _worker_model
    from likely.experiment import summarize
    from likely.models import predict_distribution

    x = np.zeros((chunk_rows, len(COLUMNS)), "float32")
    return len(summarize(predict_distribution(_worker_model(model), x)))


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


@contextlib.contextmanager
def _cluster(workers: int, pinned: bool) -> Iterator:
    """A client of likely's pinned local cluster, or of Dask's plain `LocalCluster`."""
    import distributed

    from likely.distributed import local_client

    if pinned:
        with local_client(workers) as client:
            yield client
        return
    with (
        distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def measure(
    model: Path, inputs: str, output: Path, workers: int, chunk_rows: int, pinned: bool
) -> dict:
    from likely.distributed import predict_catalog

    with _cluster(workers, pinned) as client:
        client.run(_warm_up, str(model), chunk_rows)
        load_before = os.getloadavg()
        start = time.perf_counter()
        result = predict_catalog(
            model, inputs, output, scheduler=client, chunk_rows=chunk_rows, resume=False
        )
        seconds = time.perf_counter() - start
        load_after = os.getloadavg()
        memory = sorted(client.run(_peak_rss_mib).values())
    return {
        "workers": workers,
        "rows": result.rows_written,
        "seconds": seconds,
        "rows_per_s": result.rows_written / seconds,
        "peak_rss_mib": memory,
        "load": (load_before[0], load_after[0]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--partitions", type=int, default=20)
    parser.add_argument("--chunk-rows", type=int, default=100_000)
    parser.add_argument(
        "--unpinned",
        action="store_true",
        help="Dask's plain LocalCluster (workers not pinned; XLA uses every core in each).",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="likely-dask-bench-") as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        (folder / "catalog").mkdir()
        write_catalog(folder / "catalog", args.rows, args.partitions)
        write_model(folder / "model.keras")
        print(
            f"catalog: {args.rows} rows in {args.partitions} partitions "
            f"({time.perf_counter() - start:.1f} s to write); cpus: {os.cpu_count()}"
        )
        inputs = str(folder / "catalog" / "part-*.parquet")
        results = []
        for workers in (1, 2):
            r = measure(
                folder / "model.keras",
                inputs,
                folder / f"out-{workers}",
                workers,
                args.chunk_rows,
                not args.unpinned,
            )
            results.append(r)
            print(
                f"{'unpinned' if args.unpinned else 'pinned'}, "
                f"{workers} worker(s): {r['seconds']:.1f} s, {r['rows_per_s']:,.0f} rows/s, "
                f"peak RSS per worker {', '.join(f'{m:.0f}' for m in r['peak_rss_mib'])} MiB, "
                f"load {r['load'][0]:.2f} -> {r['load'][1]:.2f}"
            )
        one, two = results
        a = pd.read_parquet(folder / "out-1").sort_values("object_id", ignore_index=True)
        b = pd.read_parquet(folder / "out-2").sort_values("object_id", ignore_index=True)
        same = a.shape == b.shape and np.allclose(
            a.drop(columns="object_id").to_numpy(),
            b.drop(columns="object_id").to_numpy(),
            rtol=1e-6,
            atol=1e-6,
        )
        ratio = two["rows_per_s"] / one["rows_per_s"]
        print(
            f"throughput ratio 2 workers / 1 worker: {ratio:.2f}x "
            f"(target >= {TARGET_RATIO}x: {'met' if ratio >= TARGET_RATIO else 'missed'}); "
            f"outputs identical: {same}"
        )


if __name__ == "__main__":
    main()
