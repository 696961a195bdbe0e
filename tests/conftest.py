"""Test configuration: JAX is the default backend; others are chosen with KERAS_BACKEND."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
