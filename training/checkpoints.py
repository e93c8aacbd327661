"""Checkpoint I/O: plain .h5 networks plus a small state file that makes resuming exact.

A checkpoint at the end of epoch N is ``<role>_epoch_NNN.h5`` for each network
(``generator``, ``generator_ema`` when the weight average is on, and
``discriminator`` or ``critic``) and ``state_epoch_NNN.npz`` (optimizer slots,
step counters and the generator's weight average; training
noise is a function of the seed and the step counter, see models/noise.py).
The names and the layout are base.rundir's. One taken S steps into epoch N (``--checkpoint-every``) carries the suffix
``_step_SSSSSS``.

What survives what:

- a kill or a power cut: every file is written to a temporary name, fsynced
  and renamed; the folder is fsynced; only then is the state file written
  (the same way), and it marks a complete checkpoint. The previous one stays
  loadable at every moment.
- a full disk: a save that fails removes its own files and ends the run with
  one line (the free space, the last complete checkpoint, how to resume). A
  warning comes first, once fewer than three checkpoints fit.
- a damaged file: resuming opens and checks every file of the newest
  checkpoint and, if one does not load, moves that checkpoint to
  ``checkpoints/damaged/`` and takes the one before.
- another precision: the optimizer slots are the same in every
  ``--mixed-precision``; float16's loss scale is a group of its own, ignored
  by float32 and bfloat16 and started afresh by a float16 run resumed from
  them. A float16 checkpoint from before that group (the loss scale among
  the optimizer's variables) is read in the earlier layout: its scale comes
  along in float16 and is dropped in another precision.
"""

from __future__ import annotations

import logging
import os
import shutil
import zipfile
import zlib
from pathlib import Path

import keras
import numpy as np

from base.errors import UserError
from base.networks import load_network, save_network
from base.rundir import (
    Position,
    as_position,
    checkpoint_files,
    complete_checkpoints,
    fsync_file,
    network_path,
    partial_path,
    state_path,
)

log = logging.getLogger(__name__)
LOSS_SCALE = "_loss_scale"  # the state group of a mixed_float16 optimizer's loss scale (models/trainers/base.py)


def _state_arrays(trainer) -> dict[str, np.ndarray]:
    arrays = {}
    for group, variables in trainer.state_variables().items():
        for index, variable in enumerate(variables):
            arrays[f"{group}/{index:04d}"] = np.asarray(variable.numpy())
    return arrays


class CheckpointNotSaved(UserError):
    """A checkpoint could not be written (a full disk, most often); its files were removed."""


class DamagedCheckpoint(Exception):
    """A file of a checkpoint does not load: what resuming skips, naming the file and why."""


def save_checkpoint(trainer, checkpoint_dir, position: Position | int) -> None:
    """Every network, fsynced with its folder, then the state file: complete only once all of it is on disk.

    A save that fails removes the files it wrote and raises ``CheckpointNotSaved``
    in one line: the free space, the last complete checkpoint, how to resume.
    """
    position = as_position(position)
    checkpoint_dir = Path(checkpoint_dir)
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    final = state_path(checkpoint_dir, position)
    try:
        for role, network in trainer.saved_networks().items():
            save_network(network, network_path(checkpoint_dir, role, position))
        fsync_file(checkpoint_dir)
        write_state(trainer, final, position)
    except BaseException as error:  # an interrupt too: an incomplete checkpoint is only space taken
        for path in checkpoint_files(checkpoint_dir, position):
            path.unlink(missing_ok=True)
        if isinstance(error, OSError):
            what = f"could not save the checkpoint at {position} in {checkpoint_dir}, so its files were removed"
            raise CheckpointNotSaved(out_of_space(checkpoint_dir, what, error)) from None
        raise
    fsync_file(checkpoint_dir)


def write_state(trainer, final: Path, position: Position) -> None:
    tmp = partial_path(final)
    try:
        with open(tmp, "wb") as handle:
            np.savez(handle, epochs=np.int64(position.epochs), step=np.int64(position.step), **_state_arrays(trainer))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


def out_of_space(checkpoint_dir: Path, what: str, error: OSError) -> str:
    """One line: what failed and why, the free space, the last complete checkpoint, how to go on."""
    checkpoint_dir = Path(checkpoint_dir)
    free = shutil.disk_usage(existing(checkpoint_dir)).free / 1e6
    complete = complete_checkpoints(checkpoint_dir)
    last = f"the one at {complete[-1]}" if complete else "none yet"
    return (
        f"{what} ({error.strerror or error}; {free:.1f} MB free); last complete checkpoint: {last}; "
        f"free some space, then continue with --resume --out {checkpoint_dir.parent}"
    )


def checkpoint_bytes(checkpoint_dir, trainer) -> int:
    """The size of the newest complete checkpoint, else an estimate: the networks and Adam's two slots."""
    complete = complete_checkpoints(checkpoint_dir)
    if complete:
        return sum(path.stat().st_size for path in checkpoint_files(checkpoint_dir, complete[-1]))
    weights = sum(network.count_params() for network in trainer.saved_networks().values())
    return 4 * weights * 3


class DiskWatch:
    """Warns, once, when fewer than three checkpoints fit on the run's disk; then once more below one."""

    def __init__(self):
        self.warned = set()

    def check(self, checkpoint_dir, trainer) -> None:
        size = checkpoint_bytes(checkpoint_dir, trainer)
        free = shutil.disk_usage(existing(Path(checkpoint_dir))).free
        for room in (1, 3):
            if free < room * size and room not in self.warned:
                self.warned.update(r for r in (1, 3) if r >= room)
                log.warning(
                    "only %.1f MB free for the checkpoints in %s, room for %s of %.1f MB: when the disk fills, "
                    "training stops with the last complete checkpoint kept (--keep N keeps fewer)",
                    free / 1e6, checkpoint_dir, "less than one" if room == 1 else "fewer than three", size / 1e6,
                )  # fmt: skip
                return


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


def existing(path: Path) -> Path:
    """``path`` or its nearest folder that exists (the checkpoints' folder appears at the first save)."""
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def read_checkpoint(trainer, checkpoint_dir, position: Position) -> tuple[dict, dict]:
    """Every file of the checkpoint opened and read whole: ``({role: model}, {key: array})``.

    Raises ``DamagedCheckpoint`` naming the first file that does not load (a
    0-byte .h5 after a power cut, a truncated state file).
    """
    networks = {}
    for role in trainer.saved_roles():
        path = network_path(checkpoint_dir, role, position)
        try:
            networks[role] = load_network(path)
        except UserError as error:
            raise DamagedCheckpoint(str(error)) from None
    path = state_path(checkpoint_dir, position)
    try:
        with np.load(path) as state:
            arrays = {key: state[key] for key in state.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as error:
        raise DamagedCheckpoint(f"{path} does not load ({type(error).__name__}: {error})") from None
    return networks, arrays


def apply_checkpoint(trainer, checkpoint_dir, networks: dict, state: dict, position: Position) -> None:
    """The read checkpoint's weights and state into ``trainer``; a checkpoint of another shape is a UserError."""
    for role, network in trainer.networks().items():
        copy_weights(networks[role], network, network_path(checkpoint_dir, role, position))
    state = earlier_float16_layout(trainer, state, position)
    for group, variables in trainer.state_variables().items():
        keys = sorted(k for k in state if k.startswith(f"{group}/"))
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


WRAPPER = 4  # a LossScaleOptimizer's own variables: iterations and learning_rate (unused), step_counter, dynamic_scale


def earlier_float16_layout(trainer, state: dict, position: Position) -> dict:
    """``state`` in today's groups when it is a float16 checkpoint saved before the loss scale had its own.

    Such a checkpoint saved each ``LossScaleOptimizer``'s ``variables`` whole:
    its own four (``WRAPPER``, in that order) ahead of the inner optimizer's
    slots. It is taken as one only when the four are scalars of the kinds
    int, float, int, float and the rest match this run's slots in number and
    shape; anything else is left for ``apply_checkpoint`` to refuse.
    """
    groups, read = trainer.state_variables(), dict(state)
    for role in trainer.optimizers():
        group, scale = f"{role}_optimizer", f"{role}{LOSS_SCALE}"
        keys = sorted(k for k in state if k.startswith(f"{group}/"))
        wrapper, slots = [state[key] for key in keys[:WRAPPER]], [state[key] for key in keys[WRAPPER:]]
        if (
            any(k.startswith(f"{scale}/") for k in state)
            or [(a.shape, a.dtype.kind) for a in wrapper] != [((), kind) for kind in "ifif"]
            or [a.shape for a in slots] != [tuple(v.shape) for v in groups[group]]
        ):
            return state
        for key in keys:
            del read[key]
        read.update({f"{group}/{index:04d}": array for index, array in enumerate(slots)})
        read.update({f"{scale}/0000": wrapper[2], f"{scale}/0001": wrapper[3]})
    dropped = "" if any(group.endswith(LOSS_SCALE) for group in groups) else "; this run has no loss scale: dropped"
    log.info(
        "the checkpoint at %s was written before float16's loss scale had a state group of its own and was read in "
        "that layout%s", position, dropped,
    )  # fmt: skip
    return read
