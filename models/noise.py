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
