"""The ``.h5`` networks of a run: written atomically, read back with plain ``keras.models.load_model``.

Training writes through ``save_network``; the sampler, the evaluator and
resuming read through ``load_network`` and ``load_generator``, so every
reader gives the same one-line error for a file that is not what it should be.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from base.errors import UserError
from base.rundir import fsync_file, partial_path

if TYPE_CHECKING:
    import keras

GENERATOR_INPUTS = ("z", "condition")


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
    """A full Keras model in HDF5, readable by ``keras.models.load_model`` alone.

    Written under a partial name, fsynced, then renamed; the partial file is
    removed if anything fails (a full disk leaves nothing behind). The caller
    fsyncs the folder once its files are renamed.
    """
    tmp = partial_path(Path(path))
    try:
        with quiet_hdf5():
            model.save(tmp)
        fsync_file(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load_network(path) -> keras.Model:
    if not Path(path).is_file():
        raise UserError(f"no such checkpoint file: {path}")
    import keras  # here, not at import: viewers check their flags before TensorFlow loads

    try:
        with quiet_hdf5():
            return keras.models.load_model(path, compile=False)
    except Exception as error:  # noqa: BLE001 - h5py, Keras and the OS raise many types for a file that is no model
        reason = str(error).strip().split(". ")[0].splitlines()[0][:120] if str(error).strip() else type(error).__name__
        raise UserError(f"{path} is not a loadable Keras .h5 model ({reason})") from None


def load_generator(path) -> keras.Model:
    """A generator checkpoint, checked to be one: inputs z and condition, one square image out."""
    model = load_network(path)
    names = tuple(tensor.name for tensor in model.inputs)
    if names != GENERATOR_INPUTS or len(model.outputs) != 1 or len(model.outputs[0].shape) != 4:
        raise UserError(
            f"{path} is not a generator: it takes {len(names)} input(s) ({', '.join(names)}) and gives "
            f"{len(model.outputs)} output(s); a generator takes z and condition and gives an image "
            "(use a generator_epoch_NNN.h5 file)"
        )
    height, width = model.outputs[0].shape[1:3]
    if height != width:
        raise UserError(f"{path} makes {height}x{width} images; only square images are supported")
    return model
