"""The training stream: value range, conditions, and an order that is a function of (seed, epoch)."""

import numpy as np
import pytest

from base.errors import UserError
from data import steps_per_epoch, training_dataset


def tiny_dataset(n=10, size=4, classes=3):
    images = np.arange(n, dtype=np.uint8)[:, None, None, None] * np.ones((1, size, size, 1), np.uint8) * 25
    labels = np.arange(n) % classes
    return images, labels


def batches(stream):
    return [(np.asarray(x), np.asarray(c)) for x, c in stream]


def test_values_conditions_and_drop_remainder():
    images, labels = tiny_dataset()
    out = batches(training_dataset(images, labels, 3, batch_size=4, seed=0, epochs=2))
    assert len(out) == 2 * 2  # 10 images -> 2 full batches of 4 per epoch
    for x, c in out:
        assert x.shape == (4, 4, 4, 1) and x.min() >= -1 and x.max() <= 1
        ids = np.rint((x[:, 0, 0, 0] + 1) * 127.5 / 25).astype(int)
        assert np.array_equal(c.argmax(1), ids % 3) and np.allclose(c.sum(1), 1)


def test_resumed_stream_equals_uninterrupted_stream():
    images, labels = tiny_dataset(20)
    straight = batches(training_dataset(images, labels, 3, 4, seed=7, flip=True, first_epoch=0, epochs=3))
    resumed = batches(training_dataset(images, labels, 3, 4, seed=7, flip=True, first_epoch=2, epochs=3))
    assert len(resumed) == 5
    for (a, ca), (b, cb) in zip(straight[10:], resumed, strict=True):
        assert np.array_equal(a, b) and np.array_equal(ca, cb)
    assert not np.array_equal(straight[0][0], straight[5][0])  # epochs are shuffled differently


def test_flip_mirrors_some_images():
    images = np.zeros((8, 4, 4, 1), np.uint8)
    images[:, :, 0] = 255  # bright left column
    x, _ = batches(training_dataset(images, np.zeros(8, int), 1, 8, seed=1, flip=True))[0]
    left_bright = x[:, 0, 0, 0] > 0
    assert left_bright.any() and not left_bright.all()


def test_steps_cap_and_too_small_dataset():
    assert steps_per_epoch(100, 32) == 3 and steps_per_epoch(100, 32, cap=2) == 2
    with pytest.raises(UserError, match="fewer than one batch of 64"):
        steps_per_epoch(10, 64)


def test_grouped_batches_stand_side_by_side():
    images, labels = tiny_dataset(24)
    flat = batches(training_dataset(images, labels, 3, 6, seed=2, epochs=1))
    grouped = batches(training_dataset(images, labels, 3, 3, seed=2, epochs=1, group=2))
    assert (
        len(grouped) == len(flat) == 4 and grouped[0][0].shape == (3, 2, 4, 4, 1) and grouped[0][1].shape == (3, 2, 3)
    )
    for (x, c), (gx, gc) in zip(flat, grouped, strict=True):  # column g holds the g-th run of 3 images
        assert np.array_equal(gx[:, 0], x[:3]) and np.array_equal(gx[:, 1], x[3:])
        assert np.array_equal(gc[:, 1], c[3:])


def test_a_group_of_one_still_has_its_column_axis():
    """A WGAN-GP with --n-critic 1 reads column 0 of every step, as with any n_critic."""
    images, labels = tiny_dataset(24)
    x, c = batches(training_dataset(images, labels, 3, 6, seed=2, epochs=1, group=1))[0]
    assert x.shape == (6, 1, 4, 4, 1) and c.shape == (6, 1, 3)
