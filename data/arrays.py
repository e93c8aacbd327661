"""Datasets that arrive as arrays: MNIST, CIFAR-10 and scikit-learn's digits.

Each loader returns ``(images uint8 NHWC, labels int64, class_names, note)``
where ``note`` is a human-readable remark for the log (or None).
"""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np

from base.errors import UserError

MNIST_CLASSES = [str(d) for d in range(10)]
CIFAR10_CLASSES = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
]
IDX_IMAGE_MAGIC = 2051
IDX_LABEL_MAGIC = 2049


def _open_maybe_gzip(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def _find_idx_file(root: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (root / name).is_file():
            return root / name
    return None


def read_idx(path: Path, expected_magic: int) -> np.ndarray:
    """Read one file of LeCun's idx format (big-endian header, then raw uint8)."""
    with _open_maybe_gzip(path) as handle:
        raw = handle.read()
    if len(raw) < 8:
        raise UserError(f"{path} is too short to be an idx file")
    magic = int.from_bytes(raw[0:4], "big")
    if magic != expected_magic:
        raise UserError(f"{path} has idx magic number {magic}, expected {expected_magic}")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    expected = int(np.prod(dims))
    data = np.frombuffer(raw, dtype=np.uint8, offset=offset)
    if data.size != expected:
        raise UserError(f"{path} holds {data.size} values, its header promises {expected}")
    return data.reshape(dims)


def _read_mnist_pair(root: Path, prefix: str):
    images_path = _find_idx_file(root, f"{prefix}-images-idx3-ubyte")
    labels_path = _find_idx_file(root, f"{prefix}-labels-idx1-ubyte")
    if images_path is None or labels_path is None:
        return None
    images = read_idx(images_path, IDX_IMAGE_MAGIC)
    labels = read_idx(labels_path, IDX_LABEL_MAGIC)
    if len(images) != len(labels):
        raise UserError(f"MNIST {prefix} files disagree: {len(images)} images but {len(labels)} labels")
    return images[..., None], labels.astype(np.int64)


def load_mnist(data_dir: str | None):
    """MNIST from local idx files, or Keras's downloader when no folder is given.

    The paper trains on the 60,000 training images; a folder with only the
    10,000 t10k images is accepted (a partial download is common) and said so.
    """
    if data_dir is None:
        return _keras_download("mnist") + (None,)
    root = Path(data_dir)
    train = _read_mnist_pair(root, "train")
    if train is not None:
        images, labels = train
        return images, labels, MNIST_CLASSES, None
    test = _read_mnist_pair(root, "t10k")
    if test is None:
        raise UserError(
            f"no MNIST idx files in {root}: expected train-images-idx3-ubyte[.gz] and "
            "train-labels-idx1-ubyte[.gz] (or the t10k-* pair)"
        )
    images, labels = test
    note = f"MNIST training images not found in {root}; training on the {len(images)} t10k test images instead"
    return images, labels, MNIST_CLASSES, note


def _unpickle(path: Path) -> dict:
    with open(path, "rb") as handle:
        return pickle.load(handle, encoding="bytes")


def _cifar_root(data_dir: str) -> Path:
    root = Path(data_dir)
    nested = root / "cifar-10-batches-py"
    return nested if nested.is_dir() else root


def load_cifar10(data_dir: str | None):
    """CIFAR-10 from the official python batches, or Keras's downloader.

    Any subset of data_batch_1..5 and test_batch is used, training batches
    first; with only test_batch present the log says so.
    """
    if data_dir is None:
        return _keras_download("cifar10") + (None,)
    root = _cifar_root(data_dir)
    train_files = [root / f"data_batch_{i}" for i in range(1, 6) if (root / f"data_batch_{i}").is_file()]
    files = train_files or ([root / "test_batch"] if (root / "test_batch").is_file() else [])
    if not files:
        raise UserError(
            f"no CIFAR-10 batches in {root}: expected data_batch_1..5 or test_batch "
            "(the cifar-10-batches-py folder of the python release)"
        )
    images, labels = [], []
    for path in files:
        batch = _unpickle(path)
        rows = np.asarray(batch[b"data"], dtype=np.uint8)
        images.append(rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        labels.append(np.asarray(batch[b"labels"], dtype=np.int64))
    class_names = CIFAR10_CLASSES
    if (root / "batches.meta").is_file():
        meta = _unpickle(root / "batches.meta")
        class_names = [name.decode("utf-8") for name in meta[b"label_names"]]
    note = None
    if not train_files:
        note = f"CIFAR-10 training batches not found in {root}; training on test_batch"
    return np.concatenate(images), np.concatenate(labels), class_names, note


def _keras_download(name: str):
    """Keras's own loader: downloads when online, else reuses ~/.keras/datasets."""
    import keras

    loader = {"mnist": keras.datasets.mnist, "cifar10": keras.datasets.cifar10}[name]
    try:
        (x_train, y_train), _ = loader.load_data()
    except Exception as exc:  # noqa: BLE001 - any download failure means the same to the user
        raise UserError(
            f"could not load {name} with Keras's downloader ({type(exc).__name__}); "
            f"when offline, pass --data-dir with the local {name} files"
        ) from exc
    if x_train.ndim == 3:
        x_train = x_train[..., None]
    classes = MNIST_CLASSES if name == "mnist" else CIFAR10_CLASSES
    return x_train.astype(np.uint8), y_train.reshape(-1).astype(np.int64), classes


def load_digits(image_size: int):
    """scikit-learn's bundled 8x8 digits, upscaled: a dataset that needs no download."""
    from PIL import Image
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    small = np.clip(bunch.images * (255.0 / 16.0), 0, 255).astype(np.uint8)
    resample = Image.Resampling.BILINEAR
    images = np.stack([np.asarray(Image.fromarray(img).resize((image_size, image_size), resample)) for img in small])
    return images[..., None], bunch.target.astype(np.int64), MNIST_CLASSES, None
