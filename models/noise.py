"""Training noise as a pure function of (seed, step, draw), identical on one device or many.

Each draw is made at the global batch size and every replica takes its own
rows, so a mirrored run sees exactly the noise of a single-device run, and a
resumed run (its step counter restored with the optimizer) the noise of the
uninterrupted one: no RNG state to save.
"""

from __future__ import annotations

import tensorflow as tf

DRAWS_PER_STEP = 256  # distinct draws available within one training step


def replica_layout():
    """``(replica index, replica count)`` in the current replica context (``(0, 1)`` on one device)."""
    context = tf.distribute.get_replica_context()
    if context is None:
        return 0, 1
    return context.replica_id_in_sync_group, context.num_replicas_in_sync


def _seed(base: int, step, draw) -> tf.Tensor:
    step = tf.cast(step, tf.int64)
    return tf.stack([tf.constant(base, tf.int64), step * DRAWS_PER_STEP + tf.cast(draw, tf.int64)])


def _rows_of_this_replica(sample, batch_size, width):
    index, count = replica_layout()
    full = sample(tf.stack([batch_size * count, width]) if width is not None else tf.stack([batch_size * count]))
    return full[index * batch_size : (index + 1) * batch_size]


def normal(base_seed: int, step, draw, batch_size, width: int) -> tf.Tensor:
    seed = _seed(base_seed, step, draw)
    return _rows_of_this_replica(lambda shape: tf.random.stateless_normal(shape, seed), batch_size, width)


def uniform(base_seed: int, step, draw, batch_size) -> tf.Tensor:
    seed = _seed(base_seed, step, draw)
    return _rows_of_this_replica(lambda shape: tf.random.stateless_uniform(shape, seed), batch_size, None)


def mixed_conditions(base_seed: int, step, draw, conditions, fraction: float):
    """Replace about ``fraction`` of the one-hot rows by an even blend (e_i + e_j) / 2 with another class j.

    The paper draws mixed conditions only at sampling time; a generator that
    never met one during training spends a good part of a blend's belief on
    a third class. Training on some teaches it what a blend is. Returns the
    conditions and a float mask that is 1 on the rows left one-hot. Like the
    noise, the draw is a function of (seed, step, draw) and identical across
    replica layouts.
    """
    conditions = tf.convert_to_tensor(conditions)
    batch_size, classes = tf.shape(conditions)[0], conditions.shape[-1]
    if classes < 2 or fraction <= 0:
        return conditions, tf.ones([batch_size], conditions.dtype)
    pure = tf.cast(uniform(base_seed, step, draw, batch_size) >= fraction, conditions.dtype)
    offset = 1 + tf.cast(uniform(base_seed, step, draw + 1, batch_size) * (classes - 1), tf.int64)
    offset = tf.minimum(offset, classes - 1)  # u * (K - 1) can round up to K - 1 in float32
    other = tf.math.floormod(tf.argmax(conditions, axis=-1) + offset, classes)
    blend = (conditions + tf.one_hot(other, classes, dtype=conditions.dtype)) / 2
    return pure[:, None] * conditions + (1 - pure[:, None]) * blend, pure
