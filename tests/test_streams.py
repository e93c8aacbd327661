"""Named random streams: no setting can make two of a run's draws share their random numbers."""

import numpy as np
import pytest
import tensorflow as tf

from base.streams import STREAMS, stream_key
from models import noise


def every_key_of_a_run(seed, n_critic, steps, epochs):
    """The keys a WGAN-GP run with mixing would use, by (name, indices)."""
    keys = {}
    for epoch in range(epochs):
        keys[("shuffle", epoch)] = stream_key(seed, "shuffle", epoch)
        for step in range(steps):
            keys[("flip", epoch, step)] = stream_key(seed, "flip", epoch, step)
    for step in range(steps):
        for use in range(n_critic + 1):
            for name in ("z", "mix_pure", "mix_other", "interpolation"):
                keys[(name, step, use)] = stream_key(seed, name, step, use)
        views = [(kind, index) for kind in (0, 1) for index in range(n_critic)] + [(2,)]  # DiffAugment's calls
        for where in views:
            for draw in range(8):
                keys[("augment", step, *where, draw)] = stream_key(seed, "augment", step, *where, draw)
    keys[("standing_statistics", 0)] = stream_key(seed, "standing_statistics", 0)
    return keys


def test_no_two_streams_share_a_key_even_with_64_critic_updates():
    # With hand-numbered draws (256 per step, mixing from 128 on), n_critic = 64 made the
    # critic's interpolation draws run into the mixing draws; named streams cannot collide.
    keys = every_key_of_a_run(seed=7, n_critic=64, steps=4, epochs=3)
    values = {tuple(key.numpy().tolist()) for key in keys.values()}
    assert len(values) == len(keys) > 4 * 65 * 4
    used = {name for name, *_ in keys}
    assert used == set(STREAMS)


def test_a_key_is_a_pure_function_of_seed_name_and_indices():
    first = stream_key(3, "z", tf.constant(5, tf.int64), 2).numpy()
    again = stream_key(3, "z", 5, 2).numpy()
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, stream_key(4, "z", 5, 2).numpy())
    assert not np.array_equal(first, stream_key(3, "z", 2, 5).numpy())  # the order of the indices counts


def test_draws_of_different_streams_are_independent():
    a = noise.normal(stream_key(1, "z", 0, 1), 4096, 1).numpy().ravel()
    b = noise.normal(stream_key(1, "interpolation", 0, 1), 4096, 1).numpy().ravel()
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.06


def test_keys_work_inside_a_compiled_function():
    # XLA's stateless kernels give other numbers than TensorFlow's for the same key, so a run's
    # --jit setting is part of its noise; within one setting the draws repeat exactly.
    @tf.function(jit_compile=True)
    def draw(step, index):
        return noise.uniform(stream_key(9, "interpolation", step, index), 8)

    step = tf.constant(2, tf.int64)
    np.testing.assert_array_equal(draw(step, 3), draw(step, 3))
    assert not np.array_equal(draw(step, 3), draw(step, 4))


def test_an_unknown_stream_is_refused():
    with pytest.raises(KeyError, match="unknown random stream 'noise'"):
        stream_key(0, "noise", 1)
