"""What `import likely` does to Keras: JAX, likely's objects registered, no needless TensorFlow.

`import likely` must stay fast (the CLI's `--help` loads no deep-learning
stack), yet every Keras-serializable likely object (heads, layers, losses, the
feature pipeline) must be registered before Keras loads a model, whichever of
`keras` and `likely` was imported first. Keras only finds a custom class that
its module registered, and never imports a non-Keras module itself. So:

- Keras already imported: the registering modules are imported at once.
- Keras not imported yet: an import watcher (`_likely_startup.ImportWatcher`,
  a meta-path finder that finds nothing itself) waits for Keras' import to
  finish and imports them then. When Keras is imported by one of likely's own
  modules, it waits until that outermost likely import has finished, so that
  no module is asked for a name it has not defined yet. Then it removes itself.

Both orders are tested in fresh processes (`tests/test_backend.py`).

Backend: `import likely` before Keras sets `KERAS_BACKEND=jax` unless it is
set. With Keras imported first, Keras' choice stands; the start-up hook of
`_likely_startup` makes that work on the default install (no TensorFlow).

TensorFlow on other backends: Keras imports TensorFlow, when installed,
whatever the backend, in `keras.utils.set_random_seed` and whenever it
serializes a model (`model.save`), only to test `isinstance(x, tf.TensorShape)`
or to seed TensorFlow. That costs seconds and prints TensorFlow's start-up log.
When the backend is not TensorFlow, likely points those two Keras modules at
a view of Keras' lazy TensorFlow module that reports TensorFlow as available
only once it is imported: serialization gives the same result (no object can
be a TensorFlow type before TensorFlow is imported), and `set_random_seed`
seeds TensorFlow only when it is imported already. Everything else in Keras
still imports TensorFlow when it needs it.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
from collections.abc import Sequence
from typing import Any

from _likely_startup import DEFAULT_BACKEND, ImportWatcher

# The modules whose import registers likely's Keras-serializable objects.
SERIALIZABLE_MODULES = ("likely.layers", "likely.losses", "likely.metrics", "likely.experiment")


def select_default_backend() -> None:
    """Sets `KERAS_BACKEND=jax` when neither the environment nor an import chose a backend.

    Keras reads `KERAS_BACKEND` once, when it is first imported. If Keras was
    imported before likely, its backend stays as it is: likely works on all of
    them.
    """
    if "keras" not in sys.modules:
        os.environ.setdefault("KERAS_BACKEND", DEFAULT_BACKEND)


class _Registration:
    """Imports the registering modules once Keras is imported and no likely import is running."""

    def __init__(self, modules: Sequence[str]) -> None:
        self.modules = tuple(modules)
        self.done = False
        self._depth = 0  # watched modules executing now (Keras and likely's)
        self._lock = threading.RLock()
        self.watcher = ImportWatcher(self._watches, self._on_start, self._on_end)

    @staticmethod
    def _watches(name: str) -> bool:
        return name == "keras" or name.startswith("likely.")

    def _on_start(self, name: str) -> None:
        with self._lock:
            self._depth += 1

    def _on_end(self, name: str, ok: bool) -> None:
        with self._lock:
            self._depth -= 1
            ready = ok and self._depth == 0 and "keras" in sys.modules and not self.done
        if ready:
            self.register()

    def register(self) -> None:
        """Imports the registering modules now (once), and stops watching imports."""
        with self._lock:
            if self.done:
                return
            self.done = True
        self.watcher.uninstall()
        avoid_needless_tensorflow()
        for module in self.modules:
            importlib.import_module(module)

    def start(self) -> None:
        """Registers at once when Keras is imported, else when it will have been."""
        if "keras" in sys.modules:
            self.register()
        else:
            self.watcher.install()


_registration: _Registration | None = None


def register_serializables(modules: Sequence[str] = SERIALIZABLE_MODULES) -> None:
    """Makes sure `modules` are imported as soon as Keras is (see the module docstring)."""
    global _registration
    if _registration is None:
        _registration = _Registration(modules)
        _registration.start()


class _TensorFlowOnceImported:
    """Keras' lazy TensorFlow module, `available` only once TensorFlow is imported."""

    def __init__(self, lazy: Any) -> None:
        self._lazy = lazy

    @property
    def available(self) -> bool:
        return sys.modules.get("tensorflow") is not None and self._lazy.available

    def __getattr__(self, name: str) -> Any:
        return getattr(self._lazy, name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._lazy!r})"


# Keras modules that import TensorFlow only to test types or seed it.
_TENSORFLOW_CHECKS = ("keras.src.saving.serialization_lib", "keras.src.utils.rng_utils")


def avoid_needless_tensorflow() -> None:
    """On a backend other than TensorFlow, stops Keras' saving and seeding from importing it."""
    import keras

    if keras.backend.backend() == "tensorflow":
        return
    for name in _TENSORFLOW_CHECKS:
        module = sys.modules.get(name) or importlib.import_module(name)
        lazy = getattr(module, "tf", None)
        # Keras' LazyModule (asking it for `available` would import TensorFlow); anything
        # else (a Keras version without it) is left alone.
        if type(lazy).__name__ == "LazyModule" and isinstance(
            getattr(type(lazy), "available", None), property
        ):
            module.tf = _TensorFlowOnceImported(lazy)
