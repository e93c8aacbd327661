"""Differentiable augmentation (DiffAugment, Zhao et al., NeurIPS 2020) of every image the critic sees.

With a few hundred or thousand paintings, a critic memorises the real images
and training collapses. Augmenting real and generated images alike, inside
the step and differentiably, lets the critic see more variety while the
generator still learns the un-augmented distribution: the generator's
gradient flows back through the transform to its own image.

Policies (DiffAugment's, for images in [-1, 1]):

- ``color``: brightness (+-0.5), saturation (x0 to x2) and contrast (x0.5 to x1.5);
- ``translation``: a shift of up to 1/8 of the image each way, the border filled by reflection
  (DiffAugment shifts zeros in: see ``translation``);
- ``cutout``: a grey square of half the image's side at a random place.

Each image gets each transform with probability ``p`` (1 in DiffAugment);
the results are clipped to [-1, 1], the data's range. Every draw comes from
a named random stream of (seed, step, use, transform), at the global batch
size, so augmentation repeats exactly on resume and under ``--strategy``.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from base.streams import stream_key
from models import noise

TRANSLATION_RATIO, CUTOUT_RATIO = 0.125, 0.5


class Draws:
    """Per-image uniform [0, 1) numbers for one call: each ``next()`` is its own sub-stream."""

    def __init__(self, seed: int, step, draw_ids: tuple, batch_size):
        self.seed, self.step, self.draw_ids, self.batch_size = seed, step, draw_ids, batch_size
        self.count = 0

    def next(self) -> tf.Tensor:
        key = stream_key(self.seed, "augment", self.step, *self.draw_ids, self.count)
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
    """Shift by whole pixels, filling the vacated border by reflection, at per-image offsets.

    DiffAugment fills it with zeros instead: a grey band whose inner edge,
    1 to 8 pixels from the border at 64 px, is in nearly every view the
    critic gets of a real painting, and generators learned to draw that edge
    as a frame (BENCHMARKS.md, "the frame under translation"). Reflected
    pixels continue the picture, so there is no edge to copy; ADA's
    integer translation pads the same way.
    """
    height, width = images.shape[1], images.shape[2]
    pad_y, pad_x = int(height * TRANSLATION_RATIO + 0.5), int(width * TRANSLATION_RATIO + 0.5)
    shift_y = tf.cast(tf.floor(draws.next() * (2 * pad_y + 1)), tf.int32)  # 0..2 pad: -pad..+pad
    shift_x = tf.cast(tf.floor(draws.next() * (2 * pad_x + 1)), tf.int32)
    padded = tf.pad(images, [[0, 0], [pad_y, pad_y], [pad_x, pad_x], [0, 0]], mode="REFLECT")
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


def augment(images, policy, probability, seed: int, step, *draw_ids):
    """``images`` with each transform of ``policy`` applied to each image with ``probability``.

    ``probability`` is a number, or a tensor (the adaptive one, which changes
    during training). ``draw_ids`` (integers) name the call within the step
    (real or fake, which critic update): two calls with different ``draw_ids``
    draw independent transforms.
    """
    fixed = isinstance(probability, (int, float))
    if not policy or (fixed and probability <= 0):
        return images
    draws = Draws(seed, step, draw_ids, tf.shape(images)[0])
    for name in policy:
        transformed = TRANSFORMS[name](images, draws)
        chosen = draws.next() < probability
        if fixed and probability >= 1:
            images = transformed
        else:
            images = tf.where(per_image(chosen, images) > 0, transformed, images)
    return tf.clip_by_value(images, -1.0, 1.0)


class AdaptiveProbability:
    """ADA's augmentation probability (Karras et al., 2020), steered by how sure D is of the real images.

    r = E[sign(D(real))] is 0 for a discriminator that cannot tell real from
    fake and nears 1 as it memorises the training images. Every ``INTERVAL``
    steps p moves by (images seen) / ``images_to_one`` towards making r equal
    ``target``: up when r is above it, down when below, clipped to [0, 1];
    so p can climb from 0 to 1 within ``images_to_one`` real images. p and
    the running sums are float32 variables that every replica updates to the
    same value (the signs are summed over the global batch); the checkpoint's
    state file holds them, so a resumed run continues them exactly.
    """

    INTERVAL = 4  # ADA's ada_interval: steps between adjustments

    def __init__(self, target: float = 0.6, images_to_one: int = 20000):
        self.target, self.images_to_one = float(target), float(images_to_one)
        self.probability, self.sign_sum, self.count = (
            keras.Variable(0.0, dtype="float32", trainable=False, aggregation="only_first_replica", name=name)
            for name in ("augment_p", "ada_sign_sum", "ada_count")
        )

    @property
    def variables(self) -> list:
        return [self.probability, self.sign_sum, self.count]

    def observe(self, real_logits, step) -> None:
        """Count the signs of this step's real logits; after step number ``step`` (1-based) % INTERVAL == 0, move p."""
        signs = tf.reduce_sum(tf.sign(tf.cast(real_logits, tf.float32)))
        count = tf.cast(tf.size(real_logits), tf.float32)
        context = tf.distribute.get_replica_context()
        if context is not None and context.num_replicas_in_sync > 1:
            signs, count = context.all_reduce(tf.distribute.ReduceOp.SUM, [signs, count])
        total, seen = self.sign_sum + signs, self.count + count
        due = tf.equal(tf.math.floormod(tf.cast(step, tf.int64), self.INTERVAL), 0)
        moved = self.probability + tf.sign(total / seen - self.target) * seen / self.images_to_one
        self.probability.assign(tf.where(due, tf.clip_by_value(moved, 0.0, 1.0), self.probability))
        self.sign_sum.assign(tf.where(due, 0.0, total))
        self.count.assign(tf.where(due, 0.0, seen))
