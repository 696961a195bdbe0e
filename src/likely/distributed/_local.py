"""A local Dask cluster of single-threaded worker processes, each pinned to its own core."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from typing import Any

_INSTALL_HINT = 'Dask is needed for distributed prediction: pip install "likely[dask]"'
_PRELOAD = "likely.distributed.pinning"


def single_thread_env() -> dict[str, str]:
    """Environment variables that keep a worker's numeric libraries on one thread.

    OpenMP, OpenBLAS, MKL and TensorFlow read these when they start. XLA (JAX)
    has no such variable in current releases: it sizes its thread pool by the
    cores the process may run on, so a worker is made single-threaded by
    pinning it to one core before JAX starts: `srun --cpu-bind=cores` with one
    core per task, a SLURM job of one core, `taskset -c 3 dask worker ...`,
    the preload `--preload likely.distributed.pinning` of `dask worker
    --nworkers N --nthreads 1`, or the local cluster of `local_client`, which
    pins its workers itself.

    Example:
        >>> from likely.distributed import single_thread_env
        >>> single_thread_env()["OMP_NUM_THREADS"]
        '1'
    """
    return {
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "TF_NUM_INTRAOP_THREADS": "1",
        "TF_NUM_INTEROP_THREADS": "1",
    }


def available_cores() -> list[int]:
    """The cores this process may run on (all of them where affinity is not supported)."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


@contextlib.contextmanager
def local_client(workers: int | None = None) -> Iterator[Any]:
    """A `distributed.Client` on a local cluster of one-thread worker processes.

    Worker i runs on the i-th core this process may use (modulo their
    number), with `single_thread_env()`: so each worker is one core's worth
    of work, and N workers on N cores scale without competing for threads
    (an unpinned worker's XLA would use every core). Bound to 127.0.0.1, no
    dashboard.

    Args:
        workers: Number of worker processes; None: one per available core.
            More workers than cores share cores in turn.

    Raises:
        ValueError: `workers` is not a positive integer.

    Example:
        >>> from likely.distributed import local_client
        >>> with local_client(workers=1) as client:
        ...     len(client.scheduler_info()["workers"])
        1
    """
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
    ):
        raise ValueError(f"Argument `workers` must be a positive integer. Received: {workers!r}")
    try:
        import distributed
    except ImportError as error:
        raise ImportError(_INSTALL_HINT) from error
    cluster = distributed.LocalCluster(
        n_workers=workers or len(available_cores()),
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=logging.ERROR,
        env=single_thread_env(),
        preload=[_PRELOAD],
    )
    with cluster, distributed.Client(cluster) as client:
        yield client
