"""bench/judge.py: its candidates train and are measured on the validation images they are given."""

import numpy as np

from bench.judge import colour_accuracy, per_epoch_accuracy
from data import LabelledImages


def coloured_styles(count: int, seed: int) -> LabelledImages:
    """Two "styles" told apart by their palette alone: dark red paintings and pale blue ones."""
    rng = np.random.default_rng(seed)
    labels = np.arange(count) % 2
    base = np.where(labels[:, None] == 0, [[120, 20, 20]], [[150, 170, 230]])
    images = np.clip(base[:, None, None, :] + rng.normal(0, 20, (count, 16, 16, 3)), 0, 255).astype(np.uint8)
    return LabelledImages(images, labels.astype(np.int64), ["dark", "pale"])


def test_palette_alone_separates_styles_that_differ_by_palette():
    assert colour_accuracy(coloured_styles(40, 0), coloured_styles(20, 1)) == 1.0


def test_each_epoch_reports_the_accuracy_on_the_validation_images():
    train, val = coloured_styles(64, 0), coloured_styles(32, 1)
    flipped = LabelledImages(val.images, 1 - val.labels, val.class_names)  # every val label wrong
    right = [accuracy for _, accuracy, _ in per_epoch_accuracy("flatten", train, val, 3, 0)]
    wrong = [accuracy for _, accuracy, _ in per_epoch_accuracy("flatten", train, flipped, 3, 0)]
    assert len(right) == 3 and right[-1] > 0.9 and wrong[-1] < 0.1
