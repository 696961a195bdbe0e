"""Runs code around the first import of Keras (or any module), and Keras' default backend.

A top-level module of likely's wheel, beside the `likely` package: the wheel's
`_likely_startup.pth` imports it when the interpreter starts, so it uses only the
standard library and never imports likely (or Keras).

Why a start-up hook: Keras reads its backend once, when it is first imported:
`KERAS_BACKEND`, else the `backend` of `~/.keras/keras.json`, else TensorFlow
(and Keras writes `"backend": "tensorflow"` into a fresh `keras.json` whatever
`KERAS_BACKEND` says). likely's default install has no TensorFlow, so
`import keras, likely` would fail before likely runs. The hook does nothing
until Keras is imported; then, when Keras' own choice names a backend that is
not installed and JAX is, it sets `KERAS_BACKEND=jax`. A choice that can work is
never changed, so other programs in the same environment keep their backend.
The decision is taken at Keras' import (not at start-up) so that a script that
sets `os.environ["KERAS_BACKEND"]` first is obeyed.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: start-up imports as little as it can
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

DEFAULT_BACKEND = "jax"
KERAS_DEFAULT_BACKEND = "tensorflow"  # what Keras picks when nothing is configured
BACKEND_PACKAGES = {
    "jax": "jax",
    "tensorflow": "tensorflow",
    "torch": "torch",
    "numpy": "numpy",
    "openvino": "openvino",
}


def keras_config_path(environ: Mapping[str, str]) -> str:
    """Where Keras reads `keras.json`: `$KERAS_HOME`, else `~/.keras` (or `/tmp/.keras`).

    Example:
        >>> keras_config_path({"KERAS_HOME": "/data/keras"})
        '/data/keras/keras.json'
    """
    if "KERAS_HOME" in environ:
        folder = environ["KERAS_HOME"]
    else:
        home = os.path.expanduser("~")
        folder = os.path.join(home if os.access(home, os.W_OK) else "/tmp", ".keras")
    return os.path.expanduser(os.path.join(folder, "keras.json"))


def keras_backend_choice(environ: Mapping[str, str]) -> str:
    """The backend Keras will pick on import: `KERAS_BACKEND`, else keras.json's, else TensorFlow.

    Example:
        >>> keras_backend_choice({"KERAS_BACKEND": "torch"})
        'torch'
        >>> keras_backend_choice({"KERAS_HOME": "/nonexistent"})
        'tensorflow'
    """
    if environ.get("KERAS_BACKEND"):
        return environ["KERAS_BACKEND"]
    import json

    try:
        with open(keras_config_path(environ)) as file:
            config = json.load(file)
    except (OSError, ValueError):
        return KERAS_DEFAULT_BACKEND
    backend = config.get("backend") if isinstance(config, dict) else None
    return backend if isinstance(backend, str) and backend else KERAS_DEFAULT_BACKEND


def is_installed(package: str) -> bool:
    """Whether `package` can be imported (found on the path; nothing is imported)."""
    import importlib.util

    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


def default_backend_for(
    environ: Mapping[str, str], installed: Callable[[str], bool] = is_installed
) -> str | None:
    """The backend to set before Keras imports, or None to leave Keras' choice alone.

    JAX when `KERAS_BACKEND` is unset and the backend Keras would pick (keras.json's,
    else TensorFlow) is a known one that is not installed, and JAX is.

    Example:
        >>> no_tensorflow = lambda package: package != "tensorflow"
        >>> default_backend_for({"KERAS_HOME": "/nonexistent"}, no_tensorflow)
        'jax'
        >>> default_backend_for({"KERAS_HOME": "/nonexistent"}, lambda package: True) is None
        True
        >>> default_backend_for({"KERAS_BACKEND": "tensorflow"}, no_tensorflow) is None
        True
    """
    if environ.get("KERAS_BACKEND"):
        return None  # the user's explicit choice, even one that fails, is Keras' to report
    package = BACKEND_PACKAGES.get(keras_backend_choice(environ))
    if package is None or installed(package) or not installed(DEFAULT_BACKEND):
        return None
    return DEFAULT_BACKEND


class ImportWatcher:
    """A meta-path finder that runs callbacks around the execution of the modules it watches.

    It finds nothing itself: it asks the finders after it for the module's spec
    and wraps the loader, so that `on_start(name)` runs just before the module's
    code and `on_end(name, ok)` just after it (`ok` False when it raised). The
    module keeps its own loader once executed.

    Args:
        watches: Whether a module name is watched.
        on_start: Called before a watched module executes.
        on_end: Called after it executed, with whether it succeeded.
    """

    def __init__(
        self,
        watches: Callable[[str], bool],
        on_start: Callable[[str], None] | None = None,
        on_end: Callable[[str, bool], None] | None = None,
    ) -> None:
        self._watches = watches
        self._on_start = on_start
        self._on_end = on_end
        import threading

        self._finding = threading.local()

    def install(self) -> None:
        """Puts the watcher first in `sys.meta_path`."""
        if self not in sys.meta_path:
            sys.meta_path.insert(0, self)

    def uninstall(self) -> None:
        """Removes the watcher from `sys.meta_path` (no error if it is not there)."""
        try:
            sys.meta_path.remove(self)
        except ValueError:
            pass

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if not self._watches(name) or getattr(self._finding, "active", False):
            return None
        self._finding.active = True
        try:
            spec = _find_spec_after(self, name, path, target)
        finally:
            self._finding.active = False
        loader = getattr(spec, "loader", None)
        if spec is None or loader is None or not hasattr(loader, "exec_module"):
            return spec
        spec.loader = _WatchedLoader(loader, name, self._on_start, self._on_end)
        return spec


def _find_spec_after(finder: object, name: str, path: Any, target: Any) -> Any:
    """The spec the finders after `finder` in `sys.meta_path` give for `name`, or None."""
    finders = list(sys.meta_path)
    after = finders[finders.index(finder) + 1 :] if finder in finders else finders
    for other in after:
        find_spec = getattr(other, "find_spec", None)
        if find_spec is None:
            continue
        spec = find_spec(name, path, target)
        if spec is not None:
            return spec
    return None


class _WatchedLoader:
    """Delegates to a module's loader, with callbacks around `exec_module`."""

    def __init__(
        self,
        loader: Any,
        name: str,
        on_start: Callable[[str], None] | None,
        on_end: Callable[[str, bool], None] | None,
    ) -> None:
        self._loader = loader
        self._name = name
        self._on_start = on_start
        self._on_end = on_end

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._loader, attribute)

    def create_module(self, spec: Any) -> Any:
        return self._loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        # The module keeps its real loader (importlib.resources and reloads ask it).
        module.__loader__ = self._loader
        if getattr(module, "__spec__", None) is not None:
            module.__spec__.loader = self._loader
        if self._on_start is not None:
            self._on_start(self._name)
        ok = False
        try:
            self._loader.exec_module(module)
            ok = True
        finally:
            if self._on_end is not None:
                self._on_end(self._name, ok)


class _DefaultBackendOnKerasImport:
    """Sets the default backend the moment Keras is first imported, then steps aside."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "keras":
            try:
                sys.meta_path.remove(self)
            except ValueError:
                pass
            backend = default_backend_for(os.environ)
            if backend is not None and "keras" not in sys.modules:
                os.environ["KERAS_BACKEND"] = backend
        return None


def install_default_backend_hook() -> None:
    """Called by `_likely_startup.pth` at start-up; never raises (a start-up hook must not)."""
    try:
        installed = any(isinstance(f, _DefaultBackendOnKerasImport) for f in sys.meta_path)
        if not installed and "keras" not in sys.modules and not os.environ.get("KERAS_BACKEND"):
            sys.meta_path.insert(0, _DefaultBackendOnKerasImport())
    except Exception:  # noqa: BLE001 - never break the interpreter's start-up
        pass
