"""Scale-out on existing engines: Dask for catalog prediction, Keras' distribution API for training.

Dask is an optional dependency (`pip install "likely[dask]"`), imported only
when a function here runs.
"""

from likely.distributed._dask import CatalogResult, predict_catalog
from likely.distributed._local import local_client, single_thread_env
from likely.distributed._parallel import data_parallel, device_count, distribution_scope

__all__ = [
    "CatalogResult",
    "data_parallel",
    "device_count",
    "distribution_scope",
    "local_client",
    "predict_catalog",
    "single_thread_env",
]
