"""Read the tensors of a ``torch.save`` file into NumPy arrays, without PyTorch.

A ``.pth`` file is a pickle whose tensors point at raw storages. Two layouts
exist: the zip archive of PyTorch 1.6 and later (``<name>/data.pkl`` beside
``<name>/data/<key>``), and the legacy stream (a magic number, a protocol
number, system information, the pickle, the list of storage keys, then each
storage as an 8-byte element count and its bytes). Only the globals a state
dict needs are resolved; anything else in the pickle is refused, so reading
a file never runs code from it.
"""

from __future__ import annotations

import collections
import io
import pickle
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from base.errors import UserError, first_line

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001
STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


@dataclass(frozen=True)
class StorageRef:
    """A storage named in the pickle, whose bytes are found by ``key`` afterwards."""

    key: str
    dtype: type


@dataclass(frozen=True)
class PendingTensor:
    """A tensor of the pickle, materialised once its storage's bytes are known."""

    storage: StorageRef
    offset: int
    shape: tuple
    stride: tuple

    def materialise(self, storages: dict) -> np.ndarray:
        flat = storages[self.storage.key]
        if not self.shape:
            return np.array(flat[self.offset])
        itemsize = flat.itemsize
        end = self.offset + 1 + sum((n - 1) * s for n, s in zip(self.shape, self.stride, strict=True))
        if end > len(flat):
            raise UserError(f"a tensor reaches past its storage ({end} > {len(flat)} elements)")
        view = np.lib.stride_tricks.as_strided(
            flat[self.offset :], shape=self.shape, strides=tuple(s * itemsize for s in self.stride)
        )
        return np.array(view)


def _rebuild_tensor(storage, offset, shape, stride, *rest):
    return PendingTensor(storage, int(offset), tuple(shape), tuple(stride))


def _rebuild_parameter(data, *rest):
    return data


class StateDictUnpickler(pickle.Unpickler):
    """Resolves tensors, storages and ordered dicts; refuses every other global."""

    GLOBALS = {
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
        ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
        ("collections", "OrderedDict"): collections.OrderedDict,
    }

    def __init__(self, handle, legacy: bool):
        super().__init__(handle)
        self.legacy = legacy

    def find_class(self, module, name):
        if (module, name) in self.GLOBALS:
            return self.GLOBALS[(module, name)]
        if module == "torch" and name in STORAGE_DTYPES:
            return STORAGE_DTYPES[name]
        raise pickle.UnpicklingError(f"refusing {module}.{name}: not part of a state dict")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")
        storage_type, key = pid[1], str(pid[2])
        if self.legacy and len(pid) > 5 and pid[5] is not None:
            raise pickle.UnpicklingError("storage views (PyTorch < 0.4 files) are not read")
        return StorageRef(key, storage_type)


def read_torch_file(path) -> dict:
    """``{name: np.ndarray}`` of a saved state dict (or a dict holding one under ``state_dict``)."""
    path = Path(path)
    try:
        if zipfile.is_zipfile(path):
            objects, storages = _read_zip(path)
        else:
            objects, storages = _read_legacy(path)
        state = objects.get("state_dict", objects) if isinstance(objects, dict) else None
        if not isinstance(state, dict):
            raise UserError(f"{path} holds a {type(objects).__name__}, not a state dict")
        return {
            str(name): value.materialise(storages) if isinstance(value, PendingTensor) else np.asarray(value)
            for name, value in state.items()
        }
    except UserError as error:
        raise UserError(f"--inception-weights {path}: {error}") from None
    except (pickle.UnpicklingError, EOFError, KeyError, ValueError, TypeError, struct.error, zipfile.BadZipFile) as e:
        raise UserError(f"--inception-weights {path} is not a readable PyTorch state dict ({first_line(e)})") from None


def _read_zip(path: Path):
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pickles = [name for name in names if name.endswith("/data.pkl") or name == "data.pkl"]
        if not pickles:
            raise UserError("a zip without data.pkl: not a torch.save file")
        prefix = pickles[0][: -len("data.pkl")]
        objects = StateDictUnpickler(io.BytesIO(archive.read(pickles[0])), legacy=False).load()
        refs = _storage_refs(objects)
        storages = {
            key: np.frombuffer(archive.read(f"{prefix}data/{key}"), dtype=dtype).copy() for key, dtype in refs.items()
        }
    return objects, storages


def _read_legacy(path: Path):
    with open(path, "rb") as handle:

        def load():
            return StateDictUnpickler(handle, legacy=True).load()

        magic = load()
        if magic != LEGACY_MAGIC:
            raise UserError("neither a zip nor a legacy torch.save stream (wrong magic number)")
        if load() != LEGACY_PROTOCOL:
            raise UserError("a legacy torch.save stream of an unknown protocol version")
        system = load()
        if isinstance(system, dict) and system.get("little_endian") is False:
            raise UserError("a big-endian torch.save file")
        objects = load()
        keys = [str(key) for key in load()]
        refs = _storage_refs(objects)
        storages = {}
        for key in keys:
            (count,) = struct.unpack("<q", handle.read(8))
            dtype = np.dtype(refs[key])
            data = handle.read(count * dtype.itemsize)
            if len(data) != count * dtype.itemsize:
                raise UserError(f"storage {key} is cut short: the file is truncated")
            storages[key] = np.frombuffer(data, dtype=dtype).copy()
    return objects, storages


def _storage_refs(objects) -> dict:
    """``{key: dtype}`` of every storage the tensors of a (nested) state dict use."""
    found = {}
    values = objects.values() if isinstance(objects, dict) else []
    for value in values:
        if isinstance(value, PendingTensor):
            found[value.storage.key] = value.storage.dtype
        elif isinstance(value, dict):
            found.update(_storage_refs(value))
    return found
