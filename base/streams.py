"""Named random streams: every random draw of a run is a pure function of (run seed, stream, indices).

A stream is a name from ``STREAMS`` and a tuple of integer indices (an epoch
or a step, then which use within it). Its key folds each index into the
name's key with ``tf.random.experimental.stateless_fold_in``, a hash, so two
different (name, indices) pairs never share a key, whatever ``--n-critic``,
the batch size or the number of epochs: no hand-numbered draw can run into
another's range. The keys seed TensorFlow's stateless ops, so a resumed run
(its step counters restored) and a mirrored one draw exactly the same numbers
without any random state to save. (XLA's stateless kernels give other
numbers than TensorFlow's for the same key: ``--jit`` is part of a run's noise.)
"""

from __future__ import annotations

import numpy as np

STREAMS = (
    "shuffle",  # the order of the training images, per epoch
    "flip",  # horizontal flips of the real images, per (epoch, step)
    "z",  # the generator's latent vectors, per (generator step, use)
    "interpolation",  # the gradient penalty's real/fake mixing weights, per (generator step, critic update)
    "mix_pure",  # which generator conditions stay one-hot, per (generator step, use)
    "mix_other",  # the second class of a blended condition, per (generator step, use)
    "augment",  # DiffAugment's transforms, per (generator step, what is augmented, draw)
    "standing_statistics",  # the fixed draws that measure the averaged generator's BatchNorm statistics
)


# NumPy's streams: the draws made outside TensorFlow, for pictures and figures rather than training. Each
# keeps the number its draws used before the streams had names, so grids and figures measured since draw
# the same numbers.
NUMPY_STREAMS = {
    "held_out": 7,  # data.held_out_split: the images a judge or the critic's pretraining holds out
    "grid_noise": 104729,  # sampling.fixed_noise: a run's sample-grid and mixing-matrix noise
    "evaluation_real": 11,  # evaluation.measure: the real images a figure compares with
    "evaluation_noise": 7561,  # evaluation.measure: the samples' z
    "inception_noise": 2015,  # evaluation.inception: the samples' z
    "inception_labels": 2016,  # evaluation.inception: the samples' classes
    "inception_real": 2017,  # evaluation.inception: the real images
    "kid_subsets": 3,  # evaluation.metrics.kernel_distance: the subsets the KID averages over
    "cue_noise": 29,  # evaluation.cues.add_noise: the grain added to the images a judge reads
    "cue_shuffle": 31,  # evaluation.cues.shuffle_patches: the order of the tiles
}


def numpy_stream(seed, name: str, *indices) -> np.random.Generator:
    """A NumPy generator for ``name`` at ``indices``: a pure function of (seed, name, indices)."""
    if name not in NUMPY_STREAMS:
        raise KeyError(f"unknown NumPy stream {name!r}; add it to base.streams.NUMPY_STREAMS")
    return np.random.default_rng([int(seed), NUMPY_STREAMS[name], *map(int, indices)])


def stream_key(seed, name: str, *indices):
    """A stateless-op seed (shape [2], int64) for ``name`` at ``indices``; tensors or ints alike."""
    import tensorflow as tf

    if name not in STREAMS:
        raise KeyError(f"unknown random stream {name!r}; add it to base.streams.STREAMS")
    key = tf.stack([tf.cast(seed, tf.int64), tf.constant(STREAMS.index(name), tf.int64)])
    for index in indices:
        key = tf.random.experimental.stateless_fold_in(key, tf.cast(index, tf.int64))
    return key
