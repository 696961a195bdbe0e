"""Dask worker preload that pins worker i of a node to the node's i-th core, before JAX starts.

XLA sizes its thread pools by the cores a process may run on, so a worker
pinned to one core runs its compiled code on one thread, and N one-thread
workers on N cores do not compete for them. `local_client` preloads this
module in its workers; workers started by hand, or by dask-jobqueue, take it
with `--preload likely.distributed.pinning`, one thread each and as many
workers as cores (`dask worker --nworkers 64 --nthreads 1 --name node7`,
whose workers are named `node7-0` ... `node7-63`).
"""

from __future__ import annotations

import os
import re
from typing import Any

from likely.distributed._local import available_cores

_INDEX = re.compile(r"(?:^|-)(\d+)$")


def worker_index(name: Any) -> int | None:
    """The index of a worker on its node, read from its Dask name; None if it has none.

    A local cluster names its workers 0, 1, ...; `dask worker --nworkers N
    --name NAME` names them `NAME-0` ... `NAME-(N-1)`.

    Example:
        >>> from likely.distributed.pinning import worker_index
        >>> worker_index(3), worker_index("SLURMCluster-2-17"), worker_index("tcp://10.0.0.1:4567")
        (3, 17, None)
    """
    if isinstance(name, int) and not isinstance(name, bool):
        return name
    found = _INDEX.search(str(name)) if isinstance(name, str) else None
    return int(found.group(1)) if found else None


def pin_to_core(index: int) -> int | None:
    """Restricts this process to the `index`-th core it may use (modulo their number).

    Returns:
        The core, or None where the system has no CPU affinity (macOS, Windows).

    Example:
        >>> import os
        >>> from likely.distributed.pinning import pin_to_core
        >>> allowed = os.sched_getaffinity(0)
        >>> core = pin_to_core(0)
        >>> os.sched_getaffinity(0) == {core}
        True
        >>> os.sched_setaffinity(0, allowed)  # as it was
    """
    if not hasattr(os, "sched_setaffinity"):
        return None
    cores = available_cores()
    core = cores[index % len(cores)]
    os.sched_setaffinity(0, {core})
    return core


def dask_setup(worker: Any) -> None:
    """Called by Dask in each new worker process (also after a restart): pins it."""
    index = worker_index(worker.name)
    if index is not None:
        pin_to_core(index)
