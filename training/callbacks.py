"""Keras callbacks that write the run directory while ``fit`` runs."""

from __future__ import annotations

import csv
import os
import time
from pathlib import Path

import keras
import numpy as np

from sampling import class_grid, save_grid
from training.checkpoints import save_checkpoint


def epoch_number(keras_epoch: int) -> int:
    """Keras counts epochs from 0; files and logs count completed epochs from 1."""
    return keras_epoch + 1


class EpochLog(keras.callbacks.Callback):
    """log.csv, one row per completed epoch, flushed to disk at once.

    Keras's CSVLogger numbers epochs from 0 and cannot drop the rows of epochs
    that a resumed run repeats; this one numbers them like the checkpoint
    files and truncates to the resumed epoch, so rows are never duplicated.
    """

    def __init__(self, path, resume_epoch: int = 0):
        super().__init__()
        self.path = Path(path)
        self.fields = None
        self.started = None
        self._truncate_after(resume_epoch)

    def _truncate_after(self, epoch: int) -> None:
        if not self.path.is_file():
            return
        with open(self.path, newline="") as handle:
            rows = list(csv.DictReader(handle))
        if not rows:
            return
        self.fields = list(rows[0].keys())
        kept = [row for row in rows if int(row["epoch"]) <= epoch]
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w", newline="") as handle:
            writer = csv.DictWriter(handle, self.fields)
            writer.writeheader()
            writer.writerows(kept)
        os.replace(tmp, self.path)

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch_number(epoch)}
        row.update({key: float(value) for key, value in (logs or {}).items()})
        for role, optimizer in self.model.optimizers().items():
            row[f"lr_{role}"] = float(np.asarray(optimizer.learning_rate))
        row["seconds"] = round(time.perf_counter() - self.started, 3)
        new_file = not self.path.is_file() or self.path.stat().st_size == 0
        if self.fields is None or new_file:
            self.fields = list(row.keys())
        with open(self.path, "a", newline="") as handle:
            writer = csv.DictWriter(handle, self.fields, extrasaction="ignore")
            if new_file:
                writer.writeheader()
            writer.writerow(row)
            handle.flush()
            os.fsync(handle.fileno())


class SampleGrid(keras.callbacks.Callback):
    """samples/epoch_NNN.png: one row per class from the run's fixed noise (the paper's Figures 3-6)."""

    def __init__(self, directory, noise, class_names):
        super().__init__()
        self.directory = Path(directory)
        self.noise = noise
        self.class_names = list(class_names)

    def on_epoch_end(self, epoch, logs=None):
        k = len(self.class_names)
        images = class_grid(self.model.generator, list(range(k)), self.noise, k)
        number = epoch_number(epoch)
        save_grid(images, self.directory / f"epoch_{number:03d}.png", self.class_names, title=f"epoch {number}")


class Checkpoint(keras.callbacks.Callback):
    """Networks as .h5 plus the resume state, at every epoch end (after the log row)."""

    def __init__(self, directory):
        super().__init__()
        self.directory = Path(directory)

    def on_epoch_end(self, epoch, logs=None):
        save_checkpoint(self.model, self.directory, epoch_number(epoch))
