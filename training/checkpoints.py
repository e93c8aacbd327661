"""Checkpoint I/O: plain .h5 networks plus a small state file that makes resuming exact.

A checkpoint at the end of epoch N is ``<role>_epoch_NNN.h5`` for each network
(``generator``, ``generator_ema`` when the weight average is on, and
``discriminator`` or ``critic``) and ``state_epoch_NNN.npz`` (optimizer slots,
step counters and the generator's weight average; training
noise is a function of the seed and the step counter, see models/noise.py).
One taken S steps into epoch N (``--checkpoint-every``) carries the suffix
``_step_SSSSSS``. Every file is written to a temporary name and
renamed, and the state file is written last: it marks a complete
checkpoint, so a kill at any moment leaves the previous one loadable.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from data.errors import DataError

log = logging.getLogger(__name__)

STATE_PATTERN = re.compile(r"state_epoch_(\d+)(?:_step_(\d+))?\.npz$")


@dataclass(frozen=True, order=True)
class Position:
    """Where training stands: ``epochs`` complete, plus ``step`` batches of the next one."""

    epochs: int
    step: int = 0

    @property
    def tag(self) -> str:
        if self.step == 0:
            return f"epoch_{self.epochs:03d}"
        return f"epoch_{self.epochs + 1:03d}_step_{self.step:06d}"

    def __str__(self) -> str:
        if self.step == 0:
            return f"the end of epoch {self.epochs}"
        return f"step {self.step} of epoch {self.epochs + 1}"


def position_of(state_file_name: str) -> Position | None:
    match = STATE_PATTERN.match(state_file_name)
    if not match:
        return None
    epoch, step = int(match.group(1)), int(match.group(2) or 0)
    return Position(epoch - 1, step) if step else Position(epoch)


def network_path(checkpoint_dir, role: str, position: Position | int) -> Path:
    position = position if isinstance(position, Position) else Position(position)
    return Path(checkpoint_dir) / f"{role}_{position.tag}.h5"


def state_path(checkpoint_dir, position: Position | int) -> Path:
    position = position if isinstance(position, Position) else Position(position)
    return Path(checkpoint_dir) / f"state_{position.tag}.npz"


@contextlib.contextmanager
def quiet_hdf5():
    """Silence h5py's numpy-2 copy warning and Keras's "HDF5 is legacy" note: .h5 is our choice."""
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(logging.NOTSET)


def save_network(model, path: Path) -> None:
    """A full Keras model in HDF5, readable by ``keras.models.load_model`` alone."""
    tmp = path.with_name(f".{path.stem}.partial.h5")
    with quiet_hdf5():
        model.save(tmp)
    os.replace(tmp, path)


def load_network(path) -> keras.Model:
    if not Path(path).is_file():
        raise DataError(f"no such checkpoint file: {path}")
    try:
        with quiet_hdf5():
            return keras.models.load_model(path, compile=False)
    except (OSError, ValueError, KeyError) as error:
        raise DataError(f"{path} is not a loadable Keras .h5 model ({type(error).__name__})") from None


def _state_arrays(trainer) -> dict[str, np.ndarray]:
    arrays = {}
    for group, variables in trainer.state_variables().items():
        for index, variable in enumerate(variables):
            arrays[f"{group}/{index:04d}"] = np.asarray(variable.numpy())
    return arrays


def save_checkpoint(trainer, checkpoint_dir, position: Position | int) -> None:
    position = position if isinstance(position, Position) else Position(position)
    checkpoint_dir = Path(checkpoint_dir)
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    for role, network in trainer.saved_networks().items():
        save_network(network, network_path(checkpoint_dir, role, position))
    final = state_path(checkpoint_dir, position)
    tmp = final.with_name(f".{final.stem}.partial.npz")
    with open(tmp, "wb") as handle:
        np.savez(handle, epochs=np.int64(position.epochs), step=np.int64(position.step), **_state_arrays(trainer))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, final)


def complete_checkpoints(checkpoint_dir) -> list[Position]:
    """Positions whose checkpoint is complete (state file present), oldest first."""
    checkpoint_dir = Path(checkpoint_dir)
    if not checkpoint_dir.is_dir():
        return []
    return sorted(p for p in map(position_of, os.listdir(checkpoint_dir)) if p is not None)


def remove_checkpoint(checkpoint_dir, position: Position, roles) -> None:
    """State file first, so a half-removed checkpoint never looks complete."""
    state_path(checkpoint_dir, position).unlink(missing_ok=True)
    for role in roles:
        network_path(checkpoint_dir, role, position).unlink(missing_ok=True)


def prune_checkpoints(checkpoint_dir, roles, keep: int | None) -> None:
    """Drop mid-epoch checkpoints older than the newest epoch end, then all but the newest ``keep``."""
    positions = complete_checkpoints(checkpoint_dir)
    epoch_ends = [p for p in positions if p.step == 0]
    stale = [p for p in positions if p.step and epoch_ends and p < epoch_ends[-1]]
    current = [p for p in positions if p not in stale]
    if keep:
        stale += current[:-keep]
    for position in stale:
        remove_checkpoint(checkpoint_dir, position, roles)


def remove_partial_files(checkpoint_dir) -> None:
    """Temporary files left by a kill mid-write are never complete: delete them."""
    checkpoint_dir = Path(checkpoint_dir)
    if checkpoint_dir.is_dir():
        for path in checkpoint_dir.glob(".*.partial.*"):
            path.unlink(missing_ok=True)


def copy_weights(source: keras.Model, target: keras.Model, path) -> None:
    """Weights from a reloaded network into a freshly built one, with a clear error on mismatch."""
    got = [tuple(w.shape) for w in source.weights] + [tuple(t.shape) for t in source.inputs]
    want = [tuple(w.shape) for w in target.weights] + [tuple(t.shape) for t in target.inputs]
    if got != want:  # inputs too: a fully convolutional critic's weights fit any image size
        raise DataError(
            f"{path} does not fit this run's {target.name}: it takes {_shapes(source.inputs)} and gives "
            f"{_shapes(source.outputs)}, this run's takes {_shapes(target.inputs)} and gives {_shapes(target.outputs)}"
        )
    target.set_weights(source.get_weights())


def _shapes(tensors) -> str:
    return ", ".join(str(tuple(t.shape)) for t in tensors)


def restore_checkpoint(trainer, checkpoint_dir, position: Position | int) -> None:
    for role, network in trainer.networks().items():
        path = network_path(checkpoint_dir, role, position)
        copy_weights(load_network(path), network, path)
    with np.load(state_path(checkpoint_dir, position)) as state:
        for group, variables in trainer.state_variables().items():
            keys = sorted(k for k in state.files if k.startswith(f"{group}/"))
            if len(keys) != len(variables):
                raise DataError(
                    f"the checkpoint at {position} has {len(keys)} {group.replace('_', ' ')} variables, "
                    f"this run has {len(variables)}"
                )
            for key, variable in zip(keys, variables, strict=True):
                variable.assign(state[key])
