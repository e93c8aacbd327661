"""What to read: the data section of every experiment's settings, and of every script that reads images.

The training scripts resolve it with the rest of their settings
(``training/settings.py`` holds it as its ``data`` section); ``evaluate.py``,
``fid_stats.py`` and the benches fill one from their own flags. Its field
names are ``config.json``'s keys. This module imports no TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from base.rundir import DEFAULT_CACHE


@dataclass(frozen=True)
class DataSettings:
    dataset: str  # --dataset: mnist, cifar10, wikiart, folder or digits (required)
    data_dir: str | None = None  # local files; mnist and cifar10 download when absent (Keras's loaders)
    image_size: int | None = None  # None until resolved: base.choices.DEFAULT_IMAGE_SIZE (the paper's 28, 32, 64 px)
    resize: str = "squash"  # the paper squashed paintings to 64x64, ignoring the aspect ratio
    top_styles: int | None = None  # wikiart: the K most frequent styles (the paper's code kept 9)
    flip: bool | None = None  # None until resolved: on for wikiart (a mirrored painting keeps its style)
    cache_dir: str | None = None  # decoded images; None: this machine's base.rundir.DEFAULT_CACHE (see ``cache``)
    steps_per_epoch: int | None = None  # a cap on the batches per epoch, for quick runs

    @property
    def cache(self) -> Path:
        """The folder of decoded images (and of the judges), ``--cache-dir`` or the default one.

        Resolved here, not stored: a run's config.json keeps ``cache_dir`` as
        given, so a run resumed on another machine uses that machine's default.
        """
        return Path(self.cache_dir) if self.cache_dir else DEFAULT_CACHE


__all__ = ["DataSettings"]
