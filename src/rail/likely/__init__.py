"""likely's RAIL plugin: found by RAIL's namespace discovery (`rail.stages.import_and_attach_all`).

The stages live in `rail.estimation.algos.likely`, where RAIL looks for estimators.
"""

from rail.estimation.algos.likely import LikelyEstimator, LikelyInformer, LikelyModelHandle

__all__ = ["LikelyEstimator", "LikelyInformer", "LikelyModelHandle"]
