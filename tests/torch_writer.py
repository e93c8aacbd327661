"""Write ``torch.save`` files of NumPy arrays in pure Python, in both layouts, as PyTorch lays them out.

The zip layout (PyTorch 1.6 on): ``<name>/data.pkl`` (protocol 2, tensors as
``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False,
OrderedDict())`` whose storage is the persistent id ``("storage",
torch.FloatStorage, key, "cpu", numel)``), ``<name>/data/<key>`` with the raw
bytes, ``<name>/version``. The legacy layout: pickles of the magic number,
the protocol 1001 and system information, then the state dict with
persistent ids ``("storage", type, key, "cpu", numel, None)``, the sorted
list of keys, and each storage as an int64 element count and its bytes.
"""

from __future__ import annotations

import collections
import io
import pickle
import struct
import zipfile

import numpy as np

STORAGE_NAMES = {np.dtype(np.float32): "FloatStorage", np.dtype(np.int64): "LongStorage"}


class TorchGlobal:
    """Stands for a torch global (``torch._utils._rebuild_tensor_v2``, ``torch.FloatStorage``) in the pickle."""

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    def __call__(self, *args):  # pickle wants a reducer's function to be callable; it is only ever named
        raise TypeError(f"{self.module}.{self.name} is a stand-in")


REBUILD = TorchGlobal("torch._utils", "_rebuild_tensor_v2")


class Storage:
    """A storage to pickle as a persistent id, its bytes written apart."""

    def __init__(self, key: str, array: np.ndarray):
        self.key, self.array = key, array


class Tensor:
    """A tensor to pickle: its storage, and the view's offset, shape and strides (in elements)."""

    def __init__(self, storage: Storage, offset: int, shape: tuple, stride: tuple):
        self.storage, self.offset, self.shape, self.stride = storage, offset, shape, stride

    def __reduce__(self):
        return (REBUILD, (self.storage, self.offset, self.shape, self.stride, False, collections.OrderedDict()))


class TorchPickler(pickle._Pickler):  # the Python pickler: its dispatch table can be told torch's names
    def __init__(self, handle, legacy: bool):
        super().__init__(handle, protocol=2)
        self.legacy = legacy
        self.storages = {}

    def save_torch_global(self, obj):
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
        self.memoize(obj)

    dispatch = dict(pickle._Pickler.dispatch)
    dispatch[TorchGlobal] = save_torch_global

    def persistent_id(self, obj):
        if not isinstance(obj, Storage):
            return None
        self.storages[obj.key] = obj.array
        storage_type = TorchGlobal("torch", STORAGE_NAMES[obj.array.dtype])
        base = ("storage", storage_type, obj.key, "cpu", obj.array.size)
        return base + (None,) if self.legacy else base


def tensors_of(state: dict, transpose: tuple = ()) -> collections.OrderedDict:
    """Each array as a tensor on its own storage; names in ``transpose`` are stored transposed (a strided view)."""
    tensors = collections.OrderedDict()
    for index, (name, value) in enumerate(state.items()):
        value = np.asarray(value)
        if name in transpose and value.ndim == 2:
            storage = Storage(str(index), np.ascontiguousarray(value.T).reshape(-1))
            tensors[name] = Tensor(storage, 0, value.shape, (1, value.shape[0]))
        else:
            contiguous = np.ascontiguousarray(value)
            strides = tuple(s // value.itemsize for s in contiguous.strides)
            tensors[name] = Tensor(Storage(str(index), contiguous.reshape(-1)), 0, value.shape, strides)
    return tensors


def _pickle(objects, legacy: bool) -> tuple[bytes, dict]:
    buffer = io.BytesIO()
    pickler = TorchPickler(buffer, legacy)
    pickler.dump(objects)
    return buffer.getvalue(), pickler.storages


def save_zip(path, state: dict, transpose: tuple = (), name: str = "archive"):
    data, storages = _pickle(tensors_of(state, transpose), legacy=False)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(f"{name}/data.pkl", data)
        for key, storage in storages.items():
            archive.writestr(f"{name}/data/{key}", storage.tobytes())
        archive.writestr(f"{name}/version", "3\n")
    return path


def save_legacy(path, state: dict, transpose: tuple = ()):
    data, storages = _pickle(tensors_of(state, transpose), legacy=True)
    system = {"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}}
    with open(path, "wb") as handle:
        for header in (0x1950A86A20F9469CFC6C, 1001, system):
            pickle.dump(header, handle, protocol=2)
        handle.write(data)
        keys = sorted(storages)
        pickle.dump(keys, handle, protocol=2)
        for key in keys:
            handle.write(struct.pack("<q", storages[key].size))
            handle.write(storages[key].tobytes())
    return path
