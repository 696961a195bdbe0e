"""A Keras callback showing training progress as one rich progress bar over epochs."""

from __future__ import annotations

from typing import Any

import keras


class EpochProgress(keras.callbacks.Callback):
    """One progress bar over all epochs, showing the latest loss and val_loss.

    Keras' own `verbose=1` prints a bar per epoch, hundreds of lines for a
    long fit; this shows one line that updates in place.

    Args:
        description: Text before the bar.
        console: A `rich.console.Console`; default: standard error.
    """

    def __init__(self, description: str = "training", console: Any = None) -> None:
        super().__init__()
        self.description = description
        self.console = console
        self._progress: Any = None
        self._task: Any = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("epochs"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[metrics]}"),
            console=self.console or Console(stderr=True),
            transient=False,
        )
        self._progress.start()
        self._task = self._progress.add_task(
            self.description, total=self.params.get("epochs"), metrics=""
        )

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        shown = " ".join(
            f"{name} {value:.4f}" for name, value in (logs or {}).items() if "loss" in name
        )
        self._progress.update(self._task, advance=1, metrics=shown)

    def on_train_end(self, logs: dict | None = None) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
