"""The local cluster of pinned single-thread workers, and the pinning preload."""

import os
import subprocess
import sys

import pytest

from likely.distributed import local_client, single_thread_env
from likely.distributed._local import available_cores
from likely.distributed.pinning import worker_index

distributed = pytest.importorskip("distributed")
linux_only = pytest.mark.skipif(
    not hasattr(os, "sched_getaffinity"), reason="CPU affinity is Linux's"
)


def _worker_setup(dask_worker):
    return dask_worker.name, sorted(os.sched_getaffinity(0)), os.environ.get("OMP_NUM_THREADS")


@linux_only
def test_each_worker_is_pinned_to_its_own_core_with_one_thread_env():
    cores = available_cores()
    with local_client(workers=2) as client:
        seen = sorted(client.run(_worker_setup).values())
    assert [name for name, _, _ in seen] == [0, 1]
    for index, affinity, threads in seen:
        assert affinity == [cores[index % len(cores)]]
        assert threads == single_thread_env()["OMP_NUM_THREADS"] == "1"


@linux_only
def test_preload_pins_the_workers_of_a_dask_worker_command():
    # The documented command: dask worker --nworkers N --nthreads 1 --name NAME --preload ...
    cores = available_cores()
    with (
        distributed.LocalCluster(n_workers=0, host="127.0.0.1", dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        command = [sys.executable, "-m", "distributed.cli.dask_worker", cluster.scheduler_address]
        command += ["--nworkers", "2", "--nthreads", "1", "--name", "node7", "--no-dashboard"]
        command += ["--preload", "likely.distributed.pinning"]
        workers = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            client.wait_for_workers(2, timeout=120)
            affinity = client.run(os.sched_getaffinity, 0)  # a function the workers can import
            names = {a: w["name"] for a, w in client.scheduler_info()["workers"].items()}
        finally:
            workers.terminate()
            workers.wait(timeout=60)
    seen = sorted((names[address], sorted(cpus)) for address, cpus in affinity.items())
    assert [name for name, _ in seen] == ["node7-0", "node7-1"]
    for name, cpus in seen:
        assert cpus == [cores[worker_index(name) % len(cores)]]


@pytest.mark.parametrize(
    ("name", "index"),
    [
        (0, 0),
        (12, 12),
        ("node7-3", 3),
        ("SLURMCluster-2-17", 17),
        ("5", 5),
        ("tcp://h:1", None),
        ("worker", None),
        (None, None),
        (True, None),
    ],
)
def test_worker_index_from_dask_names(name, index):
    assert worker_index(name) == index


@pytest.mark.parametrize("workers", [0, -1, 1.5, True])
def test_workers_must_be_a_positive_integer(workers):
    with pytest.raises(ValueError, match="positive integer"), local_client(workers):
        pass
