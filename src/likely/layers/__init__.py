"""Keras layers of likely: probabilistic heads, ensemble and Bayesian layers, MC dropout."""

from likely.layers._dropout import MCDropout
from likely.layers._ensemble import EnsembleDense
from likely.layers._heads import IndependentNormal, MixtureNormal
from likely.layers._variational import DenseFlipout, DenseVariational

__all__ = [
    "DenseFlipout",
    "DenseVariational",
    "EnsembleDense",
    "IndependentNormal",
    "MCDropout",
    "MixtureNormal",
]
