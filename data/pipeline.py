"""uint8 images -> the batched tf.data pipeline that trainers consume.

The order of every epoch is a pure function of (seed, epoch): a run resumed
at epoch k sees exactly the batches the uninterrupted run would have seen.
Each batch is read on the host, in the pipeline's own threads: from an array
in memory, or from the decoded-image store at the rows' offsets. The images
never become one tensor, so they are never copied whole into TensorFlow, nor
placed on a GPU. TensorFlow is imported inside the functions so that
importing ``data`` stays cheap for the CLIs.
"""

from __future__ import annotations

import numpy as np

from base.errors import UserError
from base.streams import stream_key
from data.cache import StoredImages

CHUNK_BYTES = 16 * 2**20  # what a pass over a whole set holds of it at a time


def steps_per_epoch(num_images: int, batch_size: int, cap: int | None = None) -> int:
    """Full batches per epoch (the last partial batch is dropped: BatchNorm dislikes tiny ones)."""
    steps = num_images // batch_size
    if steps == 0:
        raise UserError(
            f"the dataset has {num_images} images, fewer than one batch of {batch_size}; "
            "lower --batch-size or add images"
        )
    return min(steps, cap) if cap else steps


def to_model_range(images_uint8):
    """uint8 [0, 255] -> float32 [-1, 1], the generator's tanh range, so real and generated are alike.

    A NumPy array (the judge's input) stays one, without TensorFlow; a tensor
    (inside the tf.data pipeline) stays a tensor.
    """
    if isinstance(images_uint8, np.ndarray):
        return images_uint8.astype(np.float32) / np.float32(127.5) - np.float32(1.0)
    import tensorflow as tf

    return tf.cast(images_uint8, tf.float32) / 127.5 - 1.0


def image_reader(images):
    """``(read, image shape)``: ``read(indices)`` gives the images there, as one NumPy array.

    A store's rows, and a memory map of one, are read with ``pread`` (pages
    mapped would count as the process's memory); an array is indexed.
    """
    stored = images if isinstance(images, StoredImages) else StoredImages.of_memmap(images)
    if stored is not None:
        return stored.take, tuple(stored.image_shape)
    array = np.asarray(images)
    return (lambda index: array[index]), tuple(array.shape[1:])


def batch_reader(images, labels):
    """``(read, image shape)``: ``read(indices)`` gives the images and labels there, as NumPy arrays."""
    classes = np.asarray(labels, dtype=np.int64)
    read, image_shape = image_reader(images)
    return (lambda index: (read(index), classes[index])), image_shape


def image_chunks(images, order=None, rows: int | None = None):
    """``images[order]`` (all of them, in order, by default) a few at a time, read by ``image_reader``.

    What reads a whole set (a hash of it, a pass of a network over it) holds
    one chunk in memory, never the set: on the whole WikiArt the set is
    gigabytes. ``rows`` None: chunks of about CHUNK_BYTES.
    """
    read, image_shape = image_reader(images)
    order = np.arange(len(images)) if order is None else np.asarray(order)
    rows = rows or max(1, CHUNK_BYTES // int(np.prod(image_shape)))
    for start in range(0, len(order), rows):
        yield read(order[start : start + rows])


def read_batch(read, image_shape, index):
    """The images and labels at ``index`` (a tensor), read by ``read`` on the host inside the pipeline."""
    import tensorflow as tf

    pixels, classes = tf.numpy_function(read, [index], (tf.uint8, tf.int64), stateful=False)
    pixels.set_shape([None, *image_shape])
    classes.set_shape([None])
    return pixels, classes


def training_dataset(
    images,
    labels: np.ndarray,
    num_classes: int,
    batch_size: int,
    seed: int,
    flip: bool = False,
    first_epoch: int = 0,
    epochs: int = 1,
    steps: int | None = None,
    skip: int = 0,
    group: int | None = None,
):
    """Batches of (images in [-1, 1], one-hot float conditions) for epochs first_epoch..epochs-1.

    ``images``: a uint8 array (or memory map), or ``StoredImages``. Shuffling and flipping are stateless
    (seeded by seed, epoch and step), so the stream is reproducible from any epoch without saving iterator state;
    ``skip`` drops the first batches of ``first_epoch`` (resuming mid-epoch).
    ``group`` (a WGAN's n_critic, 1 included) hands over ``group`` consecutive
    batches per step, shaped (batch_size, group, ...): batch g is column g;
    None hands over plain batches.
    """
    import tensorflow as tf

    count = len(labels)
    images_per_step = batch_size * (group or 1)
    steps = steps or steps_per_epoch(count, images_per_step)
    read, image_shape = batch_reader(images, labels)
    seed = int(seed)

    def epoch_batches(epoch):
        keys = tf.random.stateless_uniform([count], seed=stream_key(seed, "shuffle", epoch))
        order = tf.argsort(keys)
        batches = tf.data.Dataset.from_tensor_slices(order).batch(images_per_step, drop_remainder=True)
        return batches.take(steps).enumerate().map(lambda step, index: (epoch, step, index))

    def assemble(epoch, step, index):
        pixels, classes = read_batch(read, image_shape, index)
        if flip:  # on the uint8 pixels: a quarter of the memory of floats, the same values
            draw = tf.random.stateless_uniform([images_per_step], seed=stream_key(seed, "flip", epoch, step))
            pixels = tf.where((draw < 0.5)[:, None, None, None], tf.reverse(pixels, axis=[2]), pixels)
        x = to_model_range(pixels)
        condition = tf.one_hot(classes, num_classes, dtype=tf.float32)
        if group is not None:
            x, condition = side_by_side(x, group), side_by_side(condition, group)
        return x, condition

    stream = tf.data.Dataset.range(first_epoch, epochs).flat_map(epoch_batches).skip(skip)
    stream = stream.map(assemble, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return stream.prefetch(tf.data.AUTOTUNE)


def side_by_side(batches, group: int):
    """(group * B, ...) -> (B, group, ...): the g-th run of B rows becomes column g."""
    import tensorflow as tf

    shape = tf.shape(batches)
    stacked = tf.reshape(batches, tf.concat([[group, shape[0] // group], shape[1:]], axis=0))
    rank = len(batches.shape)
    return tf.transpose(stacked, [1, 0] + list(range(2, rank + 1)))


def evaluation_dataset(images, labels: np.ndarray, num_classes: int, batch_size: int):
    """Every image once, in order, the last batch kept: for validation, not training."""
    import tensorflow as tf

    read, image_shape = batch_reader(images, labels)
    stream = tf.data.Dataset.range(len(labels)).batch(batch_size)
    stream = stream.map(
        lambda index: _evaluation_batch(read, image_shape, index, num_classes), num_parallel_calls=tf.data.AUTOTUNE
    )
    return stream.prefetch(tf.data.AUTOTUNE)


def _evaluation_batch(read, image_shape, index, num_classes: int):
    import tensorflow as tf

    pixels, classes = read_batch(read, image_shape, index)
    return to_model_range(pixels), tf.one_hot(classes, num_classes, dtype=tf.float32)
