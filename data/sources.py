"""Every dataset the scripts read, as one table: adding a source is one entry in ``SOURCES``.

An entry says what the dataset is (the paper's side for it, its channels,
whether a mirrored image keeps its class) and how its images are found:
either files (an index of paths and labels, decoded once into the cache at
any size) or arrays already in memory. The flags' choices, the settings'
defaults and ``data.load_images`` all read this table; it imports neither
TensorFlow nor Keras, so ``--help`` stays instant.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from base.errors import UserError
from data import arrays, files


@dataclass(frozen=True)
class Source:
    image_size: int  # the side the paper trains it at (--image-size's default)
    channels: int
    flipped: bool  # flipped at random by default: a mirrored painting keeps its style, a digit does not
    # (data_dir, split, top_styles) -> files.FileIndex: image files, decoded through the cache
    index: Callable | None = None
    # (data_dir, image_size) -> (uint8 images, labels, class names, a note or None): arrays in memory
    arrays: Callable | None = None
    styles: bool = False  # the ArtGAN split files (style_train.csv, style_val.csv) and --top-styles


SOURCES = {
    "mnist": Source(28, 1, False, arrays=lambda data_dir, size: arrays.load_mnist(data_dir)),
    "cifar10": Source(32, 3, False, arrays=lambda data_dir, size: arrays.load_cifar10(data_dir)),
    "wikiart": Source(64, 3, True, index=files.index_wikiart, styles=True),
    "folder": Source(64, 3, False, index=lambda data_dir, split, top_styles: files.index_folder(data_dir)),
    "digits": Source(32, 1, False, arrays=lambda data_dir, size: arrays.load_digits(size)),  # ships with scikit-learn
}

DATASETS = tuple(SOURCES)
DEFAULT_IMAGE_SIZE = {name: source.image_size for name, source in SOURCES.items()}
DEFAULT_CHANNELS = {name: source.channels for name, source in SOURCES.items()}


def source(dataset: str) -> Source:
    if dataset not in SOURCES:
        raise UserError(f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}")
    return SOURCES[dataset]


def flipped_by_default(dataset: str) -> bool:
    return source(dataset).flipped


def check_top_styles(dataset: str, top_styles: int | None) -> None:
    if top_styles is not None and not source(dataset).styles:
        with_styles = ", ".join(name for name, entry in SOURCES.items() if entry.styles)
        raise UserError(f"--top-styles applies to --dataset {with_styles} only")
