"""Datasets -> tf.data: images float32 in [-1, 1] (NHWC) and float condition vectors.

``Splits(settings)`` gives the training images of a ``DataSettings`` and,
where the dataset has one, its validation split (both through the
decoded-image cache of ``settings.cache``); ``load_images`` and
``validation_images`` are the one-split calls beneath it;
``training_dataset`` turns images into the training stream.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from functools import cached_property

import numpy as np

from base.choices import RESIZE_MODES, check_image_size
from base.errors import UserError
from base.streams import numpy_stream
from data import files
from data.cache import StoredImages, human_bytes
from data.images import decode_files, report_skipped
from data.pipeline import (
    evaluation_dataset,
    image_chunks,
    image_reader,
    steps_per_epoch,
    to_model_range,
    training_dataset,
)
from data.settings import DataSettings
from data.sources import check_top_styles, source

log = logging.getLogger(__name__)

IN_MEMORY_BYTES = 256 * 2**20  # decoded sets up to this size are read into memory for training (BENCHMARKS.md)


__all__ = [
    "DataSettings",
    "LabelledImages",
    "Splits",
    "RESIZE_MODES",
    "evaluation_dataset",
    "held_out_split",
    "image_chunks",
    "load_images",
    "steps_per_epoch",
    "to_model_range",
    "training_dataset",
    "validation_images",
]


class LabelledImages:
    """uint8 images (N x H x W x C) with labels in 0..K-1 and the ordered class names.

    ``source`` is where the images are: an array in memory, or rows of the
    decoded-image store (``StoredImages``) that training reads at their
    offsets, so that the whole set never needs to be in memory. ``images``
    gives them as one array either way: a read-only memory map of the store
    when their rows are adjacent (the usual case), else a copy in memory;
    what reads a few of them or the whole set in turn (evaluation) goes
    through ``take`` or ``image_chunks(source)``, which hold only those.
    """

    def __init__(self, images, labels, class_names):
        self.source = images
        self.labels = labels  # int64, N
        self.class_names = list(class_names)
        self._array = None
        self._training = None

    @property
    def images(self) -> np.ndarray:
        if isinstance(self.source, StoredImages):
            if self._array is None:
                self._array = self.source.array()
            return self._array
        return self.source

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(int(d) for d in self.source.shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.source.shape))

    def class_counts(self) -> np.ndarray:
        return np.bincount(self.labels, minlength=self.num_classes)

    def take(self, indices) -> np.ndarray:
        """The images at ``indices``, read at their rows: ``images[indices]`` without the whole set behind it."""
        return image_reader(self.source)[0](np.asarray(indices))

    def subset(self, indices) -> LabelledImages:
        indices = np.asarray(indices)
        source = self.source.subset(indices) if isinstance(self.source, StoredImages) else self.source[indices]
        return LabelledImages(source, np.asarray(self.labels)[indices], self.class_names)

    def split(self, fraction: float, seed: int) -> tuple[LabelledImages, LabelledImages]:
        """``(kept, held out)`` by ``held_out_split``."""
        kept, held = held_out_split(self.labels, fraction, seed)
        return self.subset(kept), self.subset(held)

    def training_source(self):
        """What the training stream reads: the images in memory when that is small, else the store's rows.

        Both are read host-side by ``training_dataset``; the choice is made once and logged. The style judges
        take the same choice: a set held in memory is converted whole, a streamed one a batch at a time.
        """
        if self._training is None:
            self._training = choose_training_source(self.source)
        return self._training


def in_memory_limit() -> int:
    """The largest decoded set held in memory for training: IN_MEMORY_BYTES, or an eighth of the free memory."""
    try:
        available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        available = 8 * IN_MEMORY_BYTES
    return min(IN_MEMORY_BYTES, available // 8)


def choose_training_source(source):
    if not isinstance(source, StoredImages):
        return source
    limit = in_memory_limit()
    if source.nbytes <= limit:
        log.info("training reads the %s of decoded images from memory (sets up to %s are held there)",
                 human_bytes(source.nbytes), human_bytes(limit))  # fmt: skip
        return source.take(np.arange(len(source)))
    log.info("training streams the %s of decoded images from %s, holding a few batches in memory (sets over %s "
             "are not read into memory)", human_bytes(source.nbytes), source.path, human_bytes(limit))  # fmt: skip
    return source


def held_out_split(labels, fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(kept indices, held-out indices)``, stratified: each class with two or more images gives some.

    The one split for every held-out set (the judge's test images, the critic
    pretraining's validation), so every class is measured, even a rare style.
    """
    labels = np.asarray(labels)
    rng = numpy_stream(seed, "held_out")
    kept, held = [], []
    for k in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == k))
        take = int(np.ceil(fraction * len(members))) if len(members) > 1 else 0
        held.append(members[:take])
        kept.append(members[take:])
    return np.sort(np.concatenate(kept)), np.sort(np.concatenate(held))


def _resize_arrays(images: np.ndarray, size: int) -> np.ndarray:
    if images.shape[1] == size and images.shape[2] == size:
        return images
    import tensorflow as tf

    resized = tf.image.resize(images, (size, size), method="area" if size < images.shape[1] else "bilinear")
    return np.clip(np.rint(resized.numpy()), 0, 255).astype(np.uint8)


def _load_files(index: files.FileIndex, size, channels, resize, cache_dir, progress):
    for note in index.notes:
        log.info(note)
    log.info(estimate(len(index.paths), (size, size, channels), cache_dir))
    decoded = decode_files(index.paths, index.labels, size, channels, resize, cache_dir, progress=progress)
    report_skipped(decoded.skipped)
    if len(decoded.labels) == 0:
        raise UserError(f"none of the {len(index.paths)} image files could be decoded")
    counts = Counter(index.class_names[label] for label in decoded.labels.tolist())
    kept = files.keep_classes_with_images(index.class_names, counts, "after skipping unreadable files")
    position = {name: new for new, name in enumerate(kept)}
    renumber = np.array([position.get(name, -1) for name in index.class_names], dtype=np.int64)
    return LabelledImages(decoded.source, renumber[decoded.labels], kept)


def estimate(count: int, image_shape, cache_dir) -> str:
    """What a decoded set of ``count`` images will take, said before decoding starts."""
    size = count * int(np.prod(image_shape))
    shape = "x".join(map(str, image_shape))
    if cache_dir is None:
        return f"{count} image files at {shape}: {human_bytes(size)} decoded, held in memory (no cache folder)"
    if size <= in_memory_limit():
        return f"{count} image files at {shape}: {human_bytes(size)} decoded, cached on disk and read into memory"
    return (f"{count} image files at {shape}: {human_bytes(size)} decoded, cached on disk and streamed from there "
            f"(more than the {human_bytes(in_memory_limit())} read into memory)")  # fmt: skip


def load_images(
    dataset: str,
    data_dir: str | None = None,
    image_size: int | None = None,
    resize: str = "squash",
    top_styles: int | None = None,
    split: str = "train",
    cache_dir: str | None = None,
    progress: bool = True,
) -> LabelledImages:
    """Read a dataset into uint8 arrays with contiguous labels and ordered class names (``data.sources``)."""
    entry = source(dataset)
    size = image_size or entry.image_size
    check_image_size(size)
    check_top_styles(dataset, top_styles)
    if entry.index is not None:
        data = _load_files(entry.index(data_dir, split, top_styles), size, entry.channels, resize, cache_dir, progress)
    else:
        images, labels, names, note = entry.arrays(data_dir, size)
        if note:
            log.warning(note)
        data = LabelledImages(_resize_arrays(images, size), labels, list(names))
    counts = ", ".join(f"{name} {count}" for name, count in zip(data.class_names, data.class_counts(), strict=True))
    log.info(
        "%s: %d images of shape %s in %d classes (%s)",
        dataset,
        len(data.labels),
        data.image_shape,
        data.num_classes,
        counts,
    )
    return data


def has_validation_split(dataset: str, data_dir: str | None) -> bool:
    """WikiArt with both ArtGAN split files: paintings that neither the generator nor the judge trained on."""
    if not source(dataset).styles:
        return False
    root = files.require_dir(data_dir, dataset)
    return (root / "style_train.csv").is_file() and (root / "style_val.csv").is_file()


def validation_images(dataset, data_dir, image_size, class_names, resize="squash", cache_dir=None, progress=False):
    """The ``style_val.csv`` rows of the classes in ``class_names``, labelled in that order; None without a split.

    The classes come from the training split (``--top-styles`` ranks styles by
    their training rows), so label k means the same style on both sides.
    """
    if not has_validation_split(dataset, data_dir):
        return None
    data = load_images(dataset, data_dir, image_size, resize, None, "val", cache_dir, progress)
    position = {name: index for index, name in enumerate(class_names)}
    missing = [name for name in class_names if name not in data.class_names]
    if missing:
        raise UserError(f"style_val.csv has no usable paintings of {', '.join(missing)}")
    renumber = np.array([position.get(name, -1) for name in data.class_names], dtype=np.int64)[data.labels]
    kept = np.flatnonzero(renumber >= 0)
    return LabelledImages(data.subset(kept).source, renumber[kept], list(class_names))


class Splits:
    """The training images that ``settings`` name and, where the dataset has one, its validation split.

    The one way to read a dataset from its settings (the runner, the scripts,
    the benches): both splits read and fill the decoded-image store of
    ``settings.cache``, and the validation split is labelled in the training
    split's class order (``validation_images``). Each split is read when
    first asked for, once: a run that never measures on the validation split
    never decodes it.
    """

    def __init__(self, settings: DataSettings, progress: bool = False):
        self.settings = settings
        self.progress = progress  # a progress bar while images are decoded

    @classmethod
    def holding(cls, settings: DataSettings, train: LabelledImages, validation: LabelledImages | None) -> Splits:
        """Splits already read (or made, such as a subset of them)."""
        splits = cls(settings)
        splits.__dict__.update(train=train, validation=validation)  # what the cached properties would hold
        return splits

    @cached_property
    def train(self) -> LabelledImages:
        s = self.settings
        return load_images(
            s.dataset, s.data_dir, s.image_size, s.resize, s.top_styles, "train", str(s.cache), self.progress
        )

    @cached_property
    def validation(self) -> LabelledImages | None:
        """``style_val.csv``'s images of the training split's classes; None where the dataset has no such split."""
        s = self.settings
        return validation_images(
            s.dataset, s.data_dir, s.image_size, self.train.class_names, s.resize, str(s.cache), self.progress
        )
