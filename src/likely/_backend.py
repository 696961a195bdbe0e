"""Chooses JAX as Keras' backend unless the user chose one."""

from __future__ import annotations

import os
import sys

DEFAULT_BACKEND = "jax"


def select_default_backend() -> None:
    """Sets `KERAS_BACKEND=jax` when neither the environment nor an import chose a backend.

    Keras reads `KERAS_BACKEND` once, when it is first imported. If Keras was
    imported before likely, its backend stays as it is: likely works on all of
    them.
    """
    if "keras" not in sys.modules:
        os.environ.setdefault("KERAS_BACKEND", DEFAULT_BACKEND)
