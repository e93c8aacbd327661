"""Checkpoint I/O: plain .h5 networks plus a small state file that makes resuming exact.

A checkpoint at the end of epoch N is ``<role>_epoch_NNN.h5`` for each network
(``generator``, ``generator_ema`` when the weight average is on, and
``discriminator`` or ``critic``) and ``state_epoch_NNN.npz`` (optimizer slots,
step counters and the generator's weight average; training
noise is a function of the seed and the step counter, see models/noise.py).
The names and the layout are base.rundir's. One taken S steps into epoch N (``--checkpoint-every``) carries the suffix
``_step_SSSSSS``. The optimizer slots are the same in every precision, so
a run resumes in another ``--mixed-precision``: float16's loss scale is a
group of its own, ignored by float32 and bfloat16, started afresh by a
float16 run resumed from them. Every file is written to a temporary name and
renamed, and the state file is written last: it marks a complete
checkpoint, so a kill at any moment leaves the previous one loadable.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import keras
import numpy as np

from base.errors import UserError
from base.networks import load_network, save_network
from base.rundir import Position, as_position, network_path, partial_path, state_path

log = logging.getLogger(__name__)
LOSS_SCALE = "_loss_scale"  # the state group of a mixed_float16 optimizer's loss scale (models/trainers/base.py)


def _state_arrays(trainer) -> dict[str, np.ndarray]:
    arrays = {}
    for group, variables in trainer.state_variables().items():
        for index, variable in enumerate(variables):
            arrays[f"{group}/{index:04d}"] = np.asarray(variable.numpy())
    return arrays


def save_checkpoint(trainer, checkpoint_dir, position: Position | int) -> None:
    position = as_position(position)
    checkpoint_dir = Path(checkpoint_dir)
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    for role, network in trainer.saved_networks().items():
        save_network(network, network_path(checkpoint_dir, role, position))
    final = state_path(checkpoint_dir, position)
    tmp = partial_path(final)
    with open(tmp, "wb") as handle:
        np.savez(handle, epochs=np.int64(position.epochs), step=np.int64(position.step), **_state_arrays(trainer))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, final)


def copy_weights(source: keras.Model, target: keras.Model, path) -> None:
    """Weights from a reloaded network into a freshly built one, with a clear error on mismatch."""
    got = [tuple(w.shape) for w in source.weights] + [tuple(t.shape) for t in source.inputs]
    want = [tuple(w.shape) for w in target.weights] + [tuple(t.shape) for t in target.inputs]
    if got != want:  # inputs too: a fully convolutional critic's weights fit any image size
        raise UserError(
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
            if not keys and group.endswith(LOSS_SCALE):  # saved in float32 or bfloat16, resumed in float16
                log.info("the checkpoint at %s has no loss scale (another precision): it starts afresh", position)
                continue
            if len(keys) != len(variables):
                raise UserError(
                    f"the checkpoint at {position} has {len(keys)} {group.replace('_', ' ')} variables, "
                    f"this run has {len(variables)}"
                )
            for key, variable in zip(keys, variables, strict=True):
                variable.assign(state[key])
