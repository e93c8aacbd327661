"""bench/judge.py: its candidates train and are measured on the validation images they are given."""

import numpy as np

from bench.judge import checkpoint_label, colour_accuracy, kept
from data import LabelledImages
from evaluation.classifier import train_classifier
from evaluation.judges import DESIGNS


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
    heard = {"right": [], "wrong": []}
    for which, held in (("right", val), ("wrong", flipped)):
        progress = lambda epoch, epochs, accuracy, which=which: heard[which].append((epoch, epochs, accuracy))  # noqa: E731
        _, final, measured = train_classifier(train.images, train.labels, 2, 3, 0, held, DESIGNS["flatten"], progress)
        assert measured == 32 and final == heard[which][-1][2]
    assert [(epoch, epochs) for epoch, epochs, _ in heard["right"]] == [(1, 3), (2, 3), (3, 3)]
    assert heard["right"][-1][2] > 0.9 and heard["wrong"][-1][2] < 0.1


def test_cue_columns_name_the_run_and_epoch_and_the_share_kept():
    assert checkpoint_label("runs/wikiart-a/checkpoints/generator_ema_epoch_045.h5") == "wikiart-a e45"
    assert checkpoint_label("pretrained/wikiart-dcgan-64px.h5") == "pretrained wikiart-dcgan-64px"
    assert kept(0.309, 0.618, 14).strip() == "0.309  (50%)"
    assert kept(0.2, 0.0, 14).strip() == "0.200"  # nothing to keep a share of
