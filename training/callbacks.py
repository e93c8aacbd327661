"""Keras callbacks that write the run directory while ``fit`` runs."""

from __future__ import annotations

import csv
import importlib.util
import os
import time
from pathlib import Path

import keras
import numpy as np

from base.errors import TrainingDiverged, UserError
from base.networks import save_network
from base.rundir import Position, prune_checkpoints
from models.trainers.base import loss_scale
from sampling import class_grid, mixing_matrix, render_grid, save_grid
from training.checkpoints import DiskWatch, save_checkpoint


def epoch_number(keras_epoch: int) -> int:
    """Keras counts epochs from 0; files and logs count completed epochs from 1."""
    return keras_epoch + 1


class EpochLog(keras.callbacks.Callback):
    """log.csv, one row per completed epoch, flushed to disk at once.

    Keras's CSVLogger numbers epochs from 0 and cannot drop the rows of epochs
    that a resumed run repeats; this one numbers them like the checkpoint
    files and truncates to the resumed epoch, so rows are never duplicated.
    Under mixed_float16 each row also holds every optimizer's loss scale at
    the epoch's end and the updates it skipped in the epoch (gradients that
    overflowed: the weights stay, the scale halves).
    """

    def __init__(self, path, resume_epoch: int = 0):
        super().__init__()
        self.path = Path(path)
        self.fields = None
        self.started = None
        self.steps = 0
        self.applied_before = {}
        self._truncate_after(resume_epoch)

    def _read(self) -> list[dict]:
        with open(self.path, newline="") as handle:
            return list(csv.DictReader(handle))

    def _rewrite(self, rows: list[dict]) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w", newline="") as handle:
            writer = csv.DictWriter(handle, self.fields, restval="")
            writer.writeheader()
            writer.writerows(rows)
        os.replace(tmp, self.path)

    def _truncate_after(self, epoch: int) -> None:
        if not self.path.is_file():
            return
        rows = self._read()
        if not rows:
            return
        self.fields = list(rows[0].keys())
        self._rewrite([row for row in rows if int(row["epoch"]) <= epoch])

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()
        self.steps = 0
        self.applied_before = {role: applied_updates(optimizer) for role, optimizer in self.loss_scaled().items()}

    def on_train_batch_end(self, batch, logs=None):
        self.steps = batch + 1

    def loss_scaled(self) -> dict:
        return {role: opt for role, opt in self.model.optimizers().items() if loss_scale(opt) is not None}

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch_number(epoch)}
        row.update({key: float(value) for key, value in (logs or {}).items()})
        for role, optimizer in self.model.optimizers().items():
            row[f"lr_{role}"] = float(np.asarray(optimizer.learning_rate))
        updates_per_step = self.model.updates_per_step()
        for role, optimizer in self.loss_scaled().items():
            row[f"loss_scale_{role}"] = float(np.asarray(loss_scale(optimizer)))
            applied = applied_updates(optimizer) - self.applied_before[role]
            row[f"skipped_updates_{role}"] = self.steps * updates_per_step[role] - applied
        row["seconds"] = round(time.perf_counter() - self.started, 3)
        new_file = not self.path.is_file() or self.path.stat().st_size == 0
        if self.fields is None or new_file:
            self.fields = list(row.keys())
        elif set(row) - set(self.fields):  # a run resumed in float16 adds the loss-scale columns
            self.fields += [key for key in row if key not in self.fields]
            self._rewrite(self._read())
        with open(self.path, "a", newline="") as handle:
            writer = csv.DictWriter(handle, self.fields, extrasaction="ignore", restval="")
            if new_file:
                writer.writeheader()
            writer.writerow(row)
            handle.flush()
            os.fsync(handle.fileno())


def applied_updates(optimizer) -> int:
    """Updates an optimizer applied so far; a loss-scale optimizer's count leaves out the ones it skipped."""
    return int(optimizer.iterations.numpy())


class SampleGrid(keras.callbacks.Callback):
    """samples/epoch_NNN.png: one row per class from the run's fixed noise (the paper's Figures 3-6)."""

    def __init__(self, directory, noise, class_names):
        super().__init__()
        self.directory = Path(directory)
        self.noise = noise
        self.class_names = list(class_names)

    def grid(self, epoch) -> tuple[np.ndarray, str]:
        """The epoch's class grid and its title."""
        k = len(self.class_names)
        averaged = self.model.generator_average is not None
        title = f"epoch {epoch_number(epoch)}" + (", weight average" if averaged else "")
        return class_grid(self.model.sample_generator(), list(range(k)), self.noise, k), title

    def on_epoch_end(self, epoch, logs=None):
        images, title = self.grid(epoch)
        save_grid(images, self.directory / f"epoch_{epoch_number(epoch):03d}.png", self.class_names, title=title)


class MixingMatrix(keras.callbacks.Callback):
    """mixing_matrix.png rewritten at every epoch end: a run stopped early still has its newest matrix.

    Cell (i, j) is drawn from (e_i + e_j) / 2 with the same noise along a row
    (the paper's Figure 11); the title names the epoch it shows.
    """

    def __init__(self, path, noise, class_names):
        super().__init__()
        self.path = Path(path)
        self.noise = noise
        self.class_names = list(class_names)

    def on_epoch_end(self, epoch, logs=None):
        k = len(self.class_names)
        images = mixing_matrix(self.model.sample_generator(), list(range(k)), self.noise, k)
        title = f"mixing matrix: (e_i + e_j) / 2, epoch {epoch_number(epoch)}"
        save_grid(images, self.path, self.class_names, self.class_names, title=title)


class SampleSummary(SampleGrid):
    """The per-epoch sample grid as a TensorBoard image, the same labelled picture as the PNG.

    It writes to a folder of its own under the log directory: TensorBoard
    follows only the newest event file of a folder, so two writers sharing
    Keras's ``train`` folder would hide one another's updates during a run.
    Steps are Keras's 0-based epochs, like the scalars beside them.
    """

    def __init__(self, log_dir, noise, class_names):
        super().__init__(Path(log_dir) / "samples", noise, class_names)
        self.writer = None

    def on_epoch_end(self, epoch, logs=None):
        import tensorflow as tf

        images, title = self.grid(epoch)
        picture = render_grid(images, self.class_names, title=title)
        self.writer = self.writer or tf.summary.create_file_writer(str(self.directory))
        with self.writer.as_default():
            tf.summary.image("samples", picture[None], step=epoch)
        self.writer.flush()

    def on_train_end(self, logs=None):
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def tensorboard_callbacks(log_dir, noise, class_names) -> list:
    """Keras's own TensorBoard callback for the scalars, plus the sample grid as an image.

    ``tf.summary`` writes nothing without the tensorboard package, so its
    absence is reported before training starts rather than at the first epoch end.
    """
    if importlib.util.find_spec("tensorboard") is None:
        raise UserError("--tensorboard needs the tensorboard package: pip install tensorboard")
    scalars = keras.callbacks.TensorBoard(log_dir=str(log_dir), write_graph=False)
    return [scalars, SampleSummary(log_dir, noise, class_names)]


CHECK_EVERY = 50  # steps between two reads of the divergence watch: one host sync in 50 steps, not one per step


class DivergenceGuard(keras.callbacks.Callback):
    """Stop at the first NaN or infinite loss, before any checkpoint can store the broken weights.

    The trainer notes on the device the first step of the epoch whose logged
    values were not all finite (``models.trainers.base.DivergenceWatch``);
    this callback reads that note every ``check_every`` steps, at every step
    a checkpoint is due (``checkpoint_every``) and at the epoch's end, and
    raises naming the step that went wrong. Turning every loss into a Python
    float after every batch, as it once did, made each step wait for the host.

    Keras's TerminateOnNaN only asks ``fit`` to stop, and the epoch-end
    callbacks would still save; raising keeps the last good checkpoint the
    newest one. Put this callback before :class:`Checkpoint`.
    """

    def __init__(self, first_step: int = 0, check_every: int = CHECK_EVERY, checkpoint_every: int | None = None):
        super().__init__()
        self.first_step = first_step
        self.check_every = check_every
        self.checkpoint_every = checkpoint_every
        self.epoch = 0
        self.checked = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self.checked = self.first_step
        self.model.watch.reset()

    def on_train_batch_end(self, batch, logs=None):
        step = self.first_step + batch + 1
        checkpoint_due = self.checkpoint_every and step % self.checkpoint_every == 0
        if step - self.checked >= self.check_every or checkpoint_due:
            self.check()
            self.checked = step

    def on_epoch_end(self, epoch, logs=None):
        self.check()
        self.first_step = 0

    def check(self) -> None:
        found = self.model.watch.first()
        if found is None:
            return
        step, values = found
        name, value = next((name, value) for name, value in values.items() if not np.isfinite(value))
        raise TrainingDiverged(
            f"{name} became {value} at step {self.first_step + step} of epoch {epoch_number(self.epoch)}; training "
            "stopped and the last complete checkpoint was kept (try a lower --lr)"
        )


class Checkpoint(keras.callbacks.Callback):
    """Networks as .h5 plus the resume state: every epoch end, and every ``every_steps`` batches.

    ``first_step`` is where a resumed run re-enters its first epoch, so step
    numbers stay those of the uninterrupted run.
    """

    def __init__(self, directory, steps_per_epoch: int, every_steps=None, keep=None, first_step: int = 0):
        super().__init__()
        self.directory = Path(directory)
        self.steps_per_epoch = steps_per_epoch
        self.every_steps = every_steps
        self.keep = keep
        self.first_step = first_step
        self.epoch = 0
        self.disk = DiskWatch()

    def save(self, position: Position) -> None:
        self.disk.check(self.directory, self.model)
        save_checkpoint(self.model, self.directory, position)
        prune_checkpoints(self.directory, self.model.saved_roles(), self.keep)

    def on_train_begin(self, logs=None):
        self.disk.check(self.directory, self.model)  # before the first epoch, not after it

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        step = self.first_step + batch + 1
        if self.every_steps and step % self.every_steps == 0 and step < self.steps_per_epoch:
            self.save(Position(self.epoch, step))

    def on_epoch_end(self, epoch, logs=None):
        self.first_step = 0
        self.save(Position(epoch_number(epoch)))


class SavePretrainedCritic(keras.callbacks.Callback):
    """critic_pretrained.h5 after every epoch (atomically), so a stopped run still leaves a critic."""

    def __init__(self, path):
        super().__init__()
        self.path = Path(path)

    def on_epoch_end(self, epoch, logs=None):
        save_network(self.model.critic, self.path)
