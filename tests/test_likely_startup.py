"""The start-up hook: `import keras, likely` works without TensorFlow and without a keras.json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from _likely_startup import ImportWatcher, default_backend_for, keras_backend_choice

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"


def _keras_home(tmp_path: Path, config: object) -> dict[str, str]:
    (tmp_path / "keras.json").write_text(config if isinstance(config, str) else json.dumps(config))
    return {"KERAS_HOME": str(tmp_path)}


def _without(*missing: str):
    return lambda package: package not in missing


@pytest.mark.parametrize(
    ("config", "missing", "expected"),
    [
        (None, ("tensorflow",), "jax"),  # nothing configured, no TensorFlow: JAX
        ({"backend": "tensorflow"}, ("tensorflow",), "jax"),  # what Keras writes on first import
        ({"backend": "tensorflow"}, (), None),  # TensorFlow installed: Keras' choice stands
        ({"backend": "torch"}, ("tensorflow",), None),  # a choice that works
        ({"backend": "torch"}, ("torch",), "jax"),
        ({"backend": "tensorflow"}, ("tensorflow", "jax"), None),  # no JAX either: Keras reports
        ({"backend": "no-such-backend"}, ("tensorflow",), None),  # unknown: Keras reports it
        ("{not json", ("tensorflow",), "jax"),  # Keras ignores an unreadable file
        ({"floatx": "float32"}, ("tensorflow",), "jax"),  # no backend key: TensorFlow
    ],
)
def test_default_backend_only_replaces_a_choice_that_cannot_work(
    tmp_path: Path, config: object, missing: tuple[str, ...], expected: str | None
) -> None:
    absent = {"KERAS_HOME": str(tmp_path / "absent")}
    environ = absent if config is None else _keras_home(tmp_path, config)
    assert default_backend_for(environ, _without(*missing)) == expected


def test_keras_backend_variable_is_never_overridden(tmp_path: Path) -> None:
    environ = {**_keras_home(tmp_path, {"backend": "jax"}), "KERAS_BACKEND": "tensorflow"}
    assert keras_backend_choice(environ) == "tensorflow"
    assert default_backend_for(environ, _without("tensorflow")) is None
    # Keras ignores an empty KERAS_BACKEND, and so does the hook.
    environ["KERAS_BACKEND"] = ""
    assert keras_backend_choice(environ) == "jax"


def _module(folder: Path, name: str, body: str) -> None:
    (folder / f"{name}.py").write_text(body)


def test_import_watcher_runs_callbacks_around_the_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _module(tmp_path, "likely_watched_ok", "import sys\nsys.modules[__name__].ran = True\n")
    _module(tmp_path, "likely_watched_bad", "raise RuntimeError('broken module')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    events: list[tuple] = []
    watcher = ImportWatcher(
        lambda name: name.startswith("likely_watched_"),
        on_start=lambda name: events.append(("start", name, name in sys.modules)),
        on_end=lambda name, ok: events.append(("end", name, ok)),
    )
    watcher.install()
    try:
        import likely_watched_ok  # noqa: F401

        with pytest.raises(RuntimeError, match="broken module"):
            import likely_watched_bad  # noqa: F401
        import json as _  # not watched  # noqa: F401
    finally:
        watcher.uninstall()
        for name in ("likely_watched_ok", "likely_watched_bad"):
            sys.modules.pop(name, None)
    assert events == [
        ("start", "likely_watched_ok", True),
        ("end", "likely_watched_ok", True),
        ("start", "likely_watched_bad", True),
        ("end", "likely_watched_bad", False),
    ]
    assert watcher not in sys.meta_path


def test_watched_module_keeps_its_own_loader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    _module(tmp_path, "likely_watched_loader", "LOADER = __loader__\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    watcher = ImportWatcher(lambda name: name == "likely_watched_loader")
    watcher.install()
    try:
        import likely_watched_loader as module
    finally:
        watcher.uninstall()
        sys.modules.pop("likely_watched_loader", None)
    assert type(module.__loader__).__name__ == "SourceFileLoader"
    assert module.__spec__.loader is module.__loader__ is module.LOADER


# A process that looks like likely's default install: TensorFlow cannot be
# imported (and importlib finds no spec for it), HOME has no ~/.keras.
_HIDE_TENSORFLOW = 'import sys\nsys.modules["tensorflow"] = None\n'
_IMPORT_KERAS_FIRST = """
import site, sys
# Without any hook first (an installed likely has put one in at start-up) ...
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "_DefaultBackendOnKerasImport"]
if sys.argv[1] == "hook":
    site.addsitedir(sys.argv[2])  # ... then src/_likely_startup.pth, processed as at start-up
import keras, likely
print(keras.backend.backend())
"""


def _default_install_env(tmp_path: Path) -> dict[str, str]:
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text(_HIDE_TENSORFLOW)
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "KERAS_HOME")}
    env["HOME"] = str(home)
    env["PYTHONPATH"] = os.pathsep.join([str(hide), str(SRC), env.get("PYTHONPATH", "")])
    return env


def _run(mode: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", _IMPORT_KERAS_FIRST, mode, str(SRC)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_import_keras_then_likely_without_tensorflow(tmp_path: Path) -> None:
    env = _default_install_env(tmp_path)
    without = _run("no-hook", env)  # the trap the hook removes: Keras picks TensorFlow
    assert without.returncode != 0
    assert "No module named 'tensorflow" in without.stderr
    first = _run("hook", env)
    assert first.returncode == 0, first.stderr[-2000:]
    assert first.stdout.split() == ["jax"]
    # Keras wrote "tensorflow" into the new keras.json; the next process still works.
    keras_json = json.loads((Path(env["HOME"]) / ".keras" / "keras.json").read_text())
    assert keras_json["backend"] == "tensorflow"
    second = _run("hook", env)
    assert second.returncode == 0, second.stderr[-2000:]
    assert second.stdout.split() == ["jax"]


def test_wheel_ships_the_start_up_hook() -> None:
    """The wheel (and the editable wheel) install the .pth file beside the module it imports."""
    wheel = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"][
        "targets"
    ]["wheel"]
    assert wheel["force-include"]["src/_likely_startup.pth"] == "_likely_startup.pth"
    assert "src/_likely_startup.py" in wheel["only-include"] and wheel["sources"] == ["src"]
    line = (SRC / "_likely_startup.pth").read_text().strip()
    assert line.startswith("import ") and "\n" not in line  # site.py runs one `import` line
    assert "_likely_startup.install_default_backend_hook()" in line
