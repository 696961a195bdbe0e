"""`likely ui`: the MLflow UI on the current tracking store, bound to 127.0.0.1."""

from __future__ import annotations

import subprocess
import sys

from likely.tracking._store import is_remote, tracking_uri

LOCALHOST = "127.0.0.1"


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
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ValueError(f"Argument `port` must be an integer in 1..65535. Received: port={port!r}")
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


def serve_ui(port: int = 5000, backend_store_uri: str | None = None) -> int:
    """Runs the MLflow UI in the foreground until interrupted; returns its exit code."""
    command = ui_command(port, backend_store_uri)
    try:
        return subprocess.call(command)
    except KeyboardInterrupt:
        return 0
