"""Checkpoint I/O: plain .h5 networks plus a small state file that makes resuming exact.

A checkpoint for epoch N is ``<role>_epoch_NNN.h5`` for each network and
``state_epoch_NNN.npz`` (optimizer slots, step counters, the noise RNG). Every
file is written to a temporary name and renamed, and the state file is
written last, so it marks a complete checkpoint: a kill at any moment leaves
the previous one loadable.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import warnings
from pathlib import Path

import keras
import numpy as np

from data.errors import DataError

log = logging.getLogger(__name__)

STATE_PATTERN = re.compile(r"state_epoch_(\d+)\.npz$")


def network_path(checkpoint_dir, role: str, epoch: int) -> Path:
    return Path(checkpoint_dir) / f"{role}_epoch_{epoch:03d}.h5"


def state_path(checkpoint_dir, epoch: int) -> Path:
    return Path(checkpoint_dir) / f"state_epoch_{epoch:03d}.npz"


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
    with quiet_hdf5():
        return keras.models.load_model(path, compile=False)


def _state_arrays(trainer) -> dict[str, np.ndarray]:
    arrays = {"noise_seed": np.asarray(trainer.noise_seed.state.numpy())}
    for role, optimizer in trainer.optimizers().items():
        for index, variable in enumerate(optimizer.variables):
            arrays[f"{role}_optimizer/{index:04d}"] = np.asarray(variable.numpy())
    return arrays


def save_checkpoint(trainer, checkpoint_dir, epoch: int) -> None:
    checkpoint_dir = Path(checkpoint_dir)
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    for role, network in trainer.networks().items():
        save_network(network, network_path(checkpoint_dir, role, epoch))
    final = state_path(checkpoint_dir, epoch)
    tmp = final.with_name(f".{final.stem}.partial.npz")
    with open(tmp, "wb") as handle:
        np.savez(handle, epoch=np.int64(epoch), **_state_arrays(trainer))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, final)


def complete_epochs(checkpoint_dir) -> list[int]:
    """Epochs whose checkpoint is complete (state file present), oldest first."""
    checkpoint_dir = Path(checkpoint_dir)
    if not checkpoint_dir.is_dir():
        return []
    return sorted(int(m.group(1)) for m in map(STATE_PATTERN.match, os.listdir(checkpoint_dir)) if m)


def copy_weights(source: keras.Model, target: keras.Model, path) -> None:
    """Weights from a reloaded network into a freshly built one, with a clear error on mismatch."""
    got = [tuple(w.shape) for w in source.weights]
    want = [tuple(w.shape) for w in target.weights]
    if got != want:
        raise DataError(
            f"{path} does not fit this run's {target.name}: input {source.input_shape} vs "
            f"{target.input_shape}, output {source.output_shape} vs {target.output_shape}"
        )
    target.set_weights(source.get_weights())


def restore_checkpoint(trainer, checkpoint_dir, epoch: int) -> None:
    for role, network in trainer.networks().items():
        path = network_path(checkpoint_dir, role, epoch)
        copy_weights(load_network(path), network, path)
    with np.load(state_path(checkpoint_dir, epoch)) as state:
        trainer.noise_seed.state.assign(state["noise_seed"])
        for role, optimizer in trainer.optimizers().items():
            keys = sorted(k for k in state.files if k.startswith(f"{role}_optimizer/"))
            if len(keys) != len(optimizer.variables):
                raise DataError(
                    f"checkpoint epoch {epoch} has {len(keys)} {role} optimizer variables, "
                    f"this run's optimizer has {len(optimizer.variables)}"
                )
            for key, variable in zip(keys, optimizer.variables, strict=True):
                variable.assign(state[key])
