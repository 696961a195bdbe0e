"""Defaults shared by layers, builders, configs and the estimator (no heavy imports here)."""

DEFAULT_MIN_SCALE = 1e-3
"""Floor added to every scale a head predicts, in the units the head sees."""
