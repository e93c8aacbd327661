"""Training noise drawn from a stream key (``base.streams``), identical on one device or many.

Each draw is made at the global batch size and every replica takes its own
rows, so a mirrored run sees exactly the noise of a single-device run, and a
resumed run (its step counter restored with the optimizer) the noise of the
uninterrupted one: no RNG state to save.
"""

from __future__ import annotations

import tensorflow as tf

from base.streams import stream_key


def replica_layout():
    """``(replica index, replica count)`` in the current replica context (``(0, 1)`` on one device)."""
    context = tf.distribute.get_replica_context()
    if context is None:
        return 0, 1
    return context.replica_id_in_sync_group, context.num_replicas_in_sync


def _rows_of_this_replica(sample, batch_size, width):
    index, count = replica_layout()
    full = sample(tf.stack([batch_size * count, width]) if width is not None else tf.stack([batch_size * count]))
    return full[index * batch_size : (index + 1) * batch_size]


def normal(key, batch_size, width: int) -> tf.Tensor:
    """This replica's rows of a (global batch, width) standard normal draw from stream ``key``."""
    return _rows_of_this_replica(lambda shape: tf.random.stateless_normal(shape, key), batch_size, width)


def uniform(key, batch_size) -> tf.Tensor:
    """This replica's entries of a global-batch uniform [0, 1) draw from stream ``key``."""
    return _rows_of_this_replica(lambda shape: tf.random.stateless_uniform(shape, key), batch_size, None)


def mixed_conditions(base_seed: int, step, use, conditions, fraction: float):
    """Replace about ``fraction`` of the one-hot rows by an even blend (e_i + e_j) / 2 with another class j.

    The paper draws mixed conditions only at sampling time; a generator that
    never met one during training spends a good part of a blend's belief on
    a third class. Training on some teaches it what a blend is. Returns the
    conditions and a float mask that is 1 on the rows left one-hot. Like the
    noise, the draw is a function of (seed, step, use) and identical across
    replica layouts.
    """
    conditions = tf.convert_to_tensor(conditions)
    batch_size, classes = tf.shape(conditions)[0], conditions.shape[-1]
    if classes < 2 or fraction <= 0:
        return conditions, tf.ones([batch_size], conditions.dtype)
    pure = tf.cast(uniform(stream_key(base_seed, "mix_pure", step, use), batch_size) >= fraction, conditions.dtype)
    other_draw = uniform(stream_key(base_seed, "mix_other", step, use), batch_size)
    offset = 1 + tf.cast(other_draw * (classes - 1), tf.int64)
    offset = tf.minimum(offset, classes - 1)  # u * (K - 1) can round up to K - 1 in float32
    other = tf.math.floormod(tf.argmax(conditions, axis=-1) + offset, classes)
    blend = (conditions + tf.one_hot(other, classes, dtype=conditions.dtype)) / 2
    return pure[:, None] * conditions + (1 - pure[:, None]) * blend, pure
