"""Differentiable augmentation (DiffAugment, Zhao et al., NeurIPS 2020) of every image the critic sees.

With a few hundred or thousand paintings, a critic memorises the real images
and training collapses. Augmenting real and generated images alike, inside
the step and differentiably, lets the critic see more variety while the
generator still learns the un-augmented distribution: the generator's
gradient flows back through the transform to its own image.

Policies (DiffAugment's, for images in [-1, 1]):

- ``color``: brightness (+-0.5), saturation (x0 to x2) and contrast (x0.5 to x1.5);
- ``translation``: a shift of up to 1/8 of the image each way, zeros (grey) shifted in;
- ``cutout``: a grey square of half the image's side at a random place.

Each image gets each transform with probability ``p`` (1 in DiffAugment);
the results are clipped to [-1, 1], the data's range. Every draw comes from
a named random stream of (seed, step, use, transform), at the global batch
size, so augmentation repeats exactly on resume and under ``--strategy``.
"""

from __future__ import annotations

import tensorflow as tf

from base.streams import stream_key
from models import noise

TRANSLATION_RATIO, CUTOUT_RATIO = 0.125, 0.5


class Draws:
    """Per-image uniform [0, 1) numbers for one call: each ``next()`` is its own sub-stream."""

    def __init__(self, seed: int, step, where: tuple, batch_size):
        self.seed, self.step, self.where, self.batch_size = seed, step, where, batch_size
        self.count = 0

    def next(self) -> tf.Tensor:
        key = stream_key(self.seed, "augment", self.step, *self.where, self.count)
        self.count += 1
        return noise.uniform(key, self.batch_size)


def per_image(values, images):
    """A (batch,) tensor shaped to broadcast over (batch, H, W, C) images, in their dtype."""
    return tf.cast(tf.reshape(values, [-1, 1, 1, 1]), images.dtype)


def color(images, draws: Draws):
    brightness = per_image(draws.next() - 0.5, images)
    images = images + brightness
    channel_mean = tf.reduce_mean(images, axis=3, keepdims=True)
    images = (images - channel_mean) * per_image(draws.next() * 2.0, images) + channel_mean
    image_mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
    return (images - image_mean) * per_image(draws.next() + 0.5, images) + image_mean


def translation(images, draws: Draws):
    """Shift by whole pixels: gather rows and columns of the zero-padded images at per-image offsets."""
    height, width = images.shape[1], images.shape[2]
    pad_y, pad_x = int(height * TRANSLATION_RATIO + 0.5), int(width * TRANSLATION_RATIO + 0.5)
    shift_y = tf.cast(tf.floor(draws.next() * (2 * pad_y + 1)), tf.int32)  # 0..2 pad: -pad..+pad
    shift_x = tf.cast(tf.floor(draws.next() * (2 * pad_x + 1)), tf.int32)
    padded = tf.pad(images, [[0, 0], [pad_y, pad_y], [pad_x, pad_x], [0, 0]])
    rows = tf.range(height)[None, :] + tf.minimum(shift_y, 2 * pad_y)[:, None]
    columns = tf.range(width)[None, :] + tf.minimum(shift_x, 2 * pad_x)[:, None]
    shifted = tf.gather(padded, rows, axis=1, batch_dims=1)
    return tf.gather(shifted, columns, axis=2, batch_dims=1)


def cutout(images, draws: Draws):
    height, width = images.shape[1], images.shape[2]
    size_y, size_x = int(height * CUTOUT_RATIO + 0.5), int(width * CUTOUT_RATIO + 0.5)
    top = tf.floor(draws.next() * (height + 1 - size_y))[:, None]
    left = tf.floor(draws.next() * (width + 1 - size_x))[:, None]
    y, x = tf.range(height, dtype=tf.float32)[None, :], tf.range(width, dtype=tf.float32)[None, :]
    inside_y = tf.cast((y >= top) & (y < top + size_y), images.dtype)
    inside_x = tf.cast((x >= left) & (x < left + size_x), images.dtype)
    hole = inside_y[:, :, None, None] * inside_x[:, None, :, None]
    return images * (1 - hole)


TRANSFORMS = {"color": color, "translation": translation, "cutout": cutout}


def augment(images, policy, probability: float, seed: int, step, *where):
    """``images`` with each transform of ``policy`` applied to each image with ``probability``.

    ``where`` (integers) names the call within the step (real or fake, which
    critic update): two calls with different ``where`` draw independent transforms.
    """
    if not policy or probability <= 0:
        return images
    draws = Draws(seed, step, where, tf.shape(images)[0])
    for name in policy:
        transformed = TRANSFORMS[name](images, draws)
        chosen = draws.next() < probability
        images = tf.where(per_image(chosen, images) > 0, transformed, images) if probability < 1 else transformed
    return tf.clip_by_value(images, -1.0, 1.0)
