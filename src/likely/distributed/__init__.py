"""Scale-out on existing engines: Dask for catalog prediction, Keras' distribution API for training.

Dask is an optional dependency (`pip install "likely[dask]"`), imported only
when a function here runs.
"""

from likely.distributed._dask import CatalogResult, predict_catalog
from likely.distributed._parallel import data_parallel, distribution_scope

__all__ = ["CatalogResult", "data_parallel", "distribution_scope", "predict_catalog"]
