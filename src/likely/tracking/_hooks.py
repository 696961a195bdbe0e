"""Ends runs that their training never ended: after a crash, Ctrl-C, SIGTERM, or in the next fit.

Keras 3 does not tell callbacks that `fit` died (`on_train_end` is simply not
called), so a run opened by `MlflowLogger` could stay RUNNING forever. likely
keeps the runs it opened and has not ended in `_OPEN`, and closes them:

- at interpreter exit (an `atexit` hook, which runs before MLflow's own):
  KILLED after an uncaught KeyboardInterrupt, FAILED otherwise (a run still
  open at exit is one whose `fit` did not finish);
- on SIGTERM: KILLED, then the previous handler (by default: the process dies
  of SIGTERM, as without likely);
- when the next logger starts a run (notebooks, where the process lives on):
  KILLED if the last unhandled exception was a KeyboardInterrupt, else FAILED.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
from typing import Any

_OPEN: list[Any] = []  # TrackedRun objects opened by likely and not ended yet
_LOCK = threading.Lock()
_installed = False
_exit_status: str | None = None
_previous_excepthook = sys.excepthook
_previous_sigterm: Any = signal.SIG_DFL


def status_for(exc: BaseException | type[BaseException] | None) -> str:
    """MLflow status for a run that an exception ended: KILLED for interrupts, else FAILED."""
    if exc is None:
        return "FINISHED"
    kind = exc if isinstance(exc, type) else type(exc)
    return "KILLED" if issubclass(kind, KeyboardInterrupt | SystemExit) else "FAILED"


def track(run: Any) -> None:
    _install()
    with _LOCK:
        _OPEN.append(run)


def forget(run: Any) -> None:
    with _LOCK:
        if run in _OPEN:
            _OPEN.remove(run)


def close_stale() -> None:
    """Ends runs that a logger opened and whose `fit` never reached `on_train_end`."""
    with _LOCK:
        stale = [run for run in _OPEN if run.closed_by_next_fit]
    if not stale:
        return
    last = getattr(sys, "last_exc", None) or getattr(sys, "last_value", None)
    status = "KILLED" if isinstance(last, KeyboardInterrupt) else "FAILED"
    for run in stale:
        run.end(status)


def _end_all(status: str) -> None:
    with _LOCK:
        runs = list(_OPEN)
    for run in reversed(runs):
        try:
            run.end(status)
        except Exception:  # noqa: BLE001 - exiting: nothing else can be done
            pass


def _at_exit() -> None:
    _end_all(_exit_status or "FAILED")


def _excepthook(kind: type[BaseException], value: BaseException, tb: Any) -> None:
    global _exit_status
    _exit_status = status_for(kind)
    _previous_excepthook(kind, value, tb)


def _on_sigterm(signum: int, frame: Any) -> None:
    global _exit_status
    _exit_status = "KILLED"
    _end_all("KILLED")
    previous = _previous_sigterm
    if callable(previous):
        previous(signum, frame)
    elif previous == signal.SIG_DFL:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


def _install() -> None:
    global _installed, _previous_excepthook, _previous_sigterm
    if _installed:
        return
    _installed = True
    # Registered after MLflow's own hook (MLflow registers it when imported), so it runs first.
    atexit.register(_at_exit)
    _previous_excepthook = sys.excepthook
    sys.excepthook = _excepthook
    if threading.current_thread() is threading.main_thread():
        current = signal.getsignal(signal.SIGTERM)
        if current != signal.SIG_IGN and current is not None:
            _previous_sigterm = current
            signal.signal(signal.SIGTERM, _on_sigterm)
