"""Keras layers of likely: probabilistic heads, ensemble and Bayesian layers, MC dropout."""

from likely.layers._clip import ClipToRange
from likely.layers._dropout import MCDropout
from likely.layers._ensemble import EnsembleDense
from likely.layers._family_heads import (
    IndependentBernoulli,
    IndependentLogNormal,
    IndependentStudentT,
    MixtureSameFamily,
    MultivariateNormalTriL,
    OneHotCategorical,
    SplineFlow,
)
from likely.layers._heads import (
    DistributionHead,
    IndependentNormal,
    MixtureNormal,
    declare_members,
    head_of,
    resolve_head,
)
from likely.layers._lambda import DistributionLambda
from likely.layers._variational import DenseFlipout, DenseVariational

__all__ = [
    "ClipToRange",
    "DenseFlipout",
    "DenseVariational",
    "DistributionHead",
    "DistributionLambda",
    "EnsembleDense",
    "IndependentBernoulli",
    "IndependentLogNormal",
    "IndependentNormal",
    "IndependentStudentT",
    "MCDropout",
    "MixtureNormal",
    "MixtureSameFamily",
    "MultivariateNormalTriL",
    "OneHotCategorical",
    "SplineFlow",
    "declare_members",
    "head_of",
    "resolve_head",
]
