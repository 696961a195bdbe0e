"""`likely ui`: the MLflow UI on the current tracking store, bound to 127.0.0.1.

The UI opens on the runs table of the experiment of likely's latest run, in
MLflow's model-training view: MLflow 3.17 opens on its GenAI view (traces,
sessions) unless the URL's `workflowType=machine_learning` selects the other
one (the UI keeps that parameter as the user navigates). likely's experiments
also carry the tag `mlflow.experimentKind=custom_model_development`.

`mlflow server` starts `uvicorn` as a child process; the server runs in a
process group of its own, and stopping the UI (Ctrl-C, SIGTERM) stops that
whole group, so no server is left holding the port.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

from likely.tracking._store import is_remote, tracking_uri

LOCALHOST = "127.0.0.1"
TRAINING_VIEW = "workflowType=machine_learning"
"""The URL parameter that opens MLflow 3.17's UI on its model-training view."""
_READY_TIMEOUT_S = 180.0
_STOP_TIMEOUT_S = 15.0


class PortInUseError(OSError):
    """The UI's port is taken by another process."""


def _check_port(port: Any) -> int:
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ValueError(f"Argument `port` must be an integer in 1..65535. Received: port={port!r}")
    return port


def ui_command(port: int = 5000, backend_store_uri: str | None = None) -> list[str]:
    """The command that serves the MLflow UI (one worker, on 127.0.0.1) for a store.

    Args:
        port: TCP port.
        backend_store_uri: Store to show; default: where likely tracks
            (`MLFLOW_TRACKING_URI`, else `./mlflow.db`).

    Example:
        >>> import likely
        >>> cmd = likely.tracking.ui_command(5001, "sqlite:///runs.db")
        >>> cmd[cmd.index("--host") + 1], cmd[cmd.index("--port") + 1]
        ('127.0.0.1', '5001')
    """
    _check_port(port)
    uri = backend_store_uri or tracking_uri()
    if is_remote(uri):
        raise ValueError(
            f"Runs are tracked on the server {uri}: open it in a browser instead of starting a UI."
        )
    return [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--backend-store-uri",
        uri,
        "--host",
        LOCALHOST,
        "--port",
        str(port),
        "--workers",
        "1",
    ]


def ui_url(port: int = 5000, experiment_id: str | None = None, run_id: str | None = None) -> str:
    """The UI's address: an experiment's runs table (or a run) in the model-training view.

    Args:
        port: TCP port of the UI.
        experiment_id: Experiment to open; None: the list of experiments.
        run_id: A run of that experiment to open instead of its table.

    Example:
        >>> import likely
        >>> likely.tracking.ui_url(5000, "3")
        'http://127.0.0.1:5000/#/experiments/3/runs?workflowType=machine_learning'
    """
    _check_port(port)
    if experiment_id is None:
        path = "experiments"
    elif run_id is None:
        path = f"experiments/{experiment_id}/runs"
    else:
        path = f"experiments/{experiment_id}/runs/{run_id}"
    return f"http://{LOCALHOST}:{port}/#/{path}?{TRAINING_VIEW}"


def port_in_use(port: int, host: str = LOCALHOST) -> bool:
    """Whether a process listens on (or holds) `host:port`, as the server would bind it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, _check_port(port)))
        except OSError as err:
            if err.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise
    return False


def latest_experiment_id(backend_store_uri: str | None = None) -> str | None:
    """The experiment of the latest run likely logged in a store, or None when there is none.

    Example:
        >>> import tempfile, likely
        >>> folder = tempfile.mkdtemp()
        >>> likely.tracking.latest_experiment_id(f"sqlite:///{folder}/empty.db") is None
        True
    """
    from mlflow import MlflowClient
    from mlflow.entities import ViewType

    client = MlflowClient(backend_store_uri or tracking_uri())
    experiments = client.search_experiments(view_type=ViewType.ACTIVE_ONLY)
    if not experiments:
        return None
    runs = client.search_runs(
        [e.experiment_id for e in experiments],
        filter_string="tags.`likely.version` LIKE '%'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    return str(runs[0].info.experiment_id) if runs else None


def _wait_until_ready(port: int, server: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    url = f"http://{LOCALHOST}:{port}/health"
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"mlflow server exited with code {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"the MLflow UI did not answer on port {port} within {timeout:.0f} s")


def _stop(server: subprocess.Popen) -> None:
    """Stops the server and every process of its group (uvicorn, MLflow's job runner)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if server.poll() is not None and not _group_alive(server.pid):
            break
        _signal_group(server, sig)
        deadline = time.monotonic() + _STOP_TIMEOUT_S
        while (server.poll() is None or _group_alive(server.pid)) and time.monotonic() < deadline:
            time.sleep(0.1)
    server.wait()


def _signal_group(server: subprocess.Popen, sig: int) -> None:
    try:
        if hasattr(os, "killpg"):
            os.killpg(server.pid, sig)
        else:  # pragma: no cover - no process groups on Windows
            server.send_signal(sig)
    except ProcessLookupError:
        pass


def _group_alive(pgid: int) -> bool:
    """Whether a process of the group still runs (exited, unreaped ones are not counted)."""
    if not os.path.isdir("/proc"):  # pragma: no cover - no /proc: ask the kernel
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, AttributeError):
            return False
        return True
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as file:
                fields = file.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, group = fields[0], int(fields[2])
        if group == pgid and state not in ("Z", "X"):
            return True
    return False


class _Stopped(Exception):
    """SIGTERM arrived."""


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """Turns SIGTERM into an exception in the main thread, so that the server is stopped too."""
    try:
        previous = signal.signal(signal.SIGTERM, _raise_stopped)
    except ValueError:  # not the main thread: no handler can be set
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _raise_stopped(signum: int, frame: Any) -> None:
    raise _Stopped


def _can_open_a_browser() -> bool:
    """A graphical browser can open: never start a console browser inside the terminal."""
    if sys.platform in ("darwin", "win32") or os.environ.get("BROWSER"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def serve_ui(
    port: int = 5000,
    backend_store_uri: str | None = None,
    *,
    open_browser: bool = True,
    echo: Callable[[str], None] = print,
    ready_timeout: float = _READY_TIMEOUT_S,
) -> int:
    """Runs the MLflow UI until Ctrl-C or SIGTERM, then stops every process it started.

    Once the UI answers, `echo` gets the address of the runs table of the
    experiment of likely's latest run (the experiment list when there is none)
    in the model-training view, and a browser opens on it when one can.

    Args:
        port: TCP port, on 127.0.0.1.
        backend_store_uri: Store to show; default: where likely tracks.
        open_browser: Open the address in a web browser (when there is a display).
        echo: Where the address and status lines go.
        ready_timeout: Seconds to wait for the server to answer.

    Returns:
        0 when stopped by Ctrl-C or SIGTERM; the server's exit code when it stopped by itself.

    Raises:
        PortInUseError: Another process holds the port.
        ValueError: A bad port, or a remote store (open it in a browser instead).
    """
    if port_in_use(port):
        raise PortInUseError(
            errno.EADDRINUSE,
            f"port {port} on {LOCALHOST} is in use (another likely ui or MLflow server?); "
            "stop it or choose another with --port",
        )
    command = ui_command(port, backend_store_uri)
    uri = command[command.index("--backend-store-uri") + 1]
    server = subprocess.Popen(command, start_new_session=True)
    try:
        with _sigterm_raises():
            try:
                _wait_until_ready(port, server, ready_timeout)
                url = ui_url(port, latest_experiment_id(uri))
                echo(f"MLflow UI: {url}  (Ctrl-C stops it)")
                if open_browser and _can_open_a_browser():
                    import webbrowser

                    webbrowser.open(url)
                return server.wait()
            except (KeyboardInterrupt, _Stopped):
                return 0
    finally:
        _stop(server)
