"""Training checkpoints that a crash cannot leave half-written, and reading them back with fallbacks.
Owns the checkpoint file names, save_atomically, AtomicCheckpoint and load_checkpoint.

Keras' ModelCheckpoint writes straight into its file, so a crash (or a full disk) mid-save leaves a truncated
``checkpoint.keras``. Here each save goes to a temporary file in the same folder, then ``os.replace`` puts it in
place; the latest checkpoint's predecessor is kept as ``checkpoint.prev.keras``. ``--resume`` reads the newest
readable one of ``checkpoint.keras``, ``checkpoint.prev.keras`` and ``best.keras`` and says when it falls back.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import keras
import pandas as pd

CHECKPOINT = "checkpoint.keras"
PREVIOUS_CHECKPOINT = "checkpoint.prev.keras"
BEST_CHECKPOINT = "best.keras"
HISTORY_CSV = "history.csv"


def save_atomically(model: keras.Model, path: Path, previous: Path | None = None) -> None:
    """Save ``model`` to ``path`` through a temporary file; the file it replaces becomes ``previous`` if given."""
    partial = path.with_name(f".{path.stem}.partial.keras")
    model.save(partial)
    if previous is not None and path.exists():
        os.replace(path, previous)
    os.replace(partial, path)


class AtomicCheckpoint(keras.callbacks.Callback):
    """Saves the model after every epoch (or, with ``monitor``, when that metric beats ``best``), atomically."""

    def __init__(self, path: Path, previous: Path | None = None, monitor: str | None = None) -> None:
        super().__init__()
        self.path, self.previous, self.monitor = path, previous, monitor
        self.best = float("-inf")

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor is not None:
            value = (logs or {}).get(self.monitor)
            if value is None or value <= self.best:
                return
            self.best = float(value)
        save_atomically(self.model, self.path, self.previous)


def _best_epoch(out: Path) -> int:
    """Epochs finished when best.keras was saved (the best ``val_accuracy`` in history.csv), 0 when unknown."""
    try:
        history = pd.read_csv(out / HISTORY_CSV)
        return int(history.loc[history["val_accuracy"].idxmax(), "epoch"]) + 1
    except (OSError, ValueError, KeyError, pd.errors.ParserError):
        return 0


def load_checkpoint(out: Path, epochs_done: int, log: Callable[[str], None] = print) -> tuple[keras.Model, int]:
    """The newest readable checkpoint in ``out`` and the number of epochs it has finished.

    ``epochs_done`` is what train_state.json says ``checkpoint.keras`` holds. Raises ``ValueError`` when no
    checkpoint can be read.
    """
    candidates = [
        (CHECKPOINT, epochs_done), (PREVIOUS_CHECKPOINT, epochs_done - 1), (BEST_CHECKPOINT, _best_epoch(out))
    ]
    for name, epochs in candidates:
        path = out / name
        if not path.is_file() or epochs < 1:
            continue
        try:
            model = keras.models.load_model(path)
        except Exception as error:  # Keras raises many types for a truncated archive
            log(f"{path} cannot be read ({type(error).__name__}); trying an earlier checkpoint")
            continue
        if name != CHECKPOINT:
            log(f"falling back to {path} (after epoch {epochs})")
        return model, epochs
    raise ValueError(f"{out}: no readable checkpoint to resume from; train again without --resume")
