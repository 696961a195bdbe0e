"""A BackupAndRestore whose checkpoint files are replaced atomically.

Keras writes `latest.weights.h5` in place, so a Ctrl-C or SIGTERM that lands
while it is being written leaves a truncated file that cannot be resumed.
Here both files are written beside their final names and moved over them
with `os.replace`, weights first: an interruption leaves either the previous
epoch's checkpoint or the new one, never a broken file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import keras


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """`keras.callbacks.BackupAndRestore` (per epoch) with atomic checkpoint files.

    Args:
        backup_dir: Folder of the checkpoint.
        delete_checkpoint: Remove it when training ends normally.
    """

    def __init__(self, backup_dir: str | os.PathLike, delete_checkpoint: bool = True) -> None:
        super().__init__(str(backup_dir), save_freq="epoch", delete_checkpoint=delete_checkpoint)

    def _save_model(self) -> None:
        folder = Path(self.backup_dir)
        folder.mkdir(parents=True, exist_ok=True)
        weights = Path(self._weights_path)
        partial_weights = weights.with_name(".partial." + weights.name)
        self.model.save_weights(filepath=str(partial_weights), overwrite=True)
        os.replace(partial_weights, weights)
        metadata = Path(self._training_metadata_path)
        partial_metadata = metadata.with_name(".partial." + metadata.name)
        partial_metadata.write_text(
            json.dumps({"epoch": self._current_epoch, "batch": self._last_batch_seen})
        )
        os.replace(partial_metadata, metadata)
