"""Keras layers of likely: probabilistic heads (and, later, Bayesian layers)."""

from likely.layers._heads import IndependentNormal, MixtureNormal

__all__ = ["IndependentNormal", "MixtureNormal"]
