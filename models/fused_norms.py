"""Training kernels for Keras's normalisation layers: fewer passes over the activations, the same layers.

Keras 3.15 writes BatchNormalization and GroupNormalization as chains of
reductions and element-wise ops, upcast to float32 (Cast, Sum, Square, Mul,
Tile), and TensorFlow autodiffs the chain: every op is a pass over the
activations, forward, backward, and again in the gradient penalty's double
backward. On the paper's WGAN-GP those passes can cost more op time than
the convolutions (BENCHMARKS.md, "Throughput on a CPU with AMX: the
normalisation layers' training kernels").

:func:`fuse_norms` rebinds each instance's ``call`` to a shorter kernel:

- BatchNormalization in training: TensorFlow's ``FusedBatchNormV3`` (oneDNN
  on CPUs, cuDNN on GPUs), one kernel per direction, float32 statistics
  for bfloat16 inputs. Synchronized over several replicas, Keras's call
  makes three all-reduces per call (sum, sum of squares, count) and two more
  in the backward; :func:`synchronized_batch_norm` makes one each way, with
  the same statistics (E[x^2] - E[x]^2 over the global batch, as Keras).
- GroupNormalization with one group (the critic's layer norm): a closed-form
  backward over per-sample, per-channel sums, itself differentiable, so the
  penalty's double backward differentiates a few ops instead of the autodiff
  of the whole chain. It is exact at both orders. Keras's version takes its
  variance from ``tf.nn.moments``, whose mean is held fixed
  (``stop_gradient``): right to first order, but its second derivative
  misses the mean's term, and the penalty's gradient for the critic's weights
  differs from the exact one (tests/test_fused_norms.py measures by how much).

The layers stay Keras's own: class, config, weights and ``.h5`` files are
untouched, a network loaded with ``keras.models.load_model`` runs Keras's
call, and every case the kernels do not cover (inference, masks, float64,
other axes or group counts) goes to Keras's call. tests/test_fused_norms.py
compares both with Keras's layers and with plain autodiff in float64.
"""

from __future__ import annotations

import types

import keras
import tensorflow as tf

FUSED_DTYPES = ("float16", "bfloat16", "float32")  # what TensorFlow's fused batch-norm kernel takes


def fuse_norms(model) -> None:
    """Give every BatchNormalization and GroupNormalization in ``model`` (nested models too) its training kernel."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            fuse_norms(layer)
        else:
            fuse_layer(layer)


def fuse_layer(layer) -> None:
    """Rebind one normalisation layer's ``call``; any other layer is left as it is."""
    if isinstance(layer, keras.layers.BatchNormalization):
        layer.call = types.MethodType(fused_batch_norm_call, layer)
    elif isinstance(layer, keras.layers.GroupNormalization):
        layer.call = types.MethodType(layer_norm_call, layer)


# --------------------------------------------------------------------------- BatchNormalization


def fused_batch_norm_applies(layer, inputs, training, mask) -> bool:
    """Whether the kernels here compute what Keras's call would, for this call.

    Not in inference (Keras normalises by the moving statistics), not with a
    mask, renorm or a feature axis other than the last, and not for float64.
    """
    rank = len(inputs.shape)
    return (
        bool(training)
        and layer.trainable
        and mask is None
        and not layer.renorm
        and rank in (2, 4)
        and layer.axis in (-1, rank - 1)
        and inputs.dtype in FUSED_DTYPES
    )


def synchronized_replicas(layer):
    """The replica context whose replicas share this layer's statistics, or None where there is one batch.

    ``FusedBatchNormV3`` sees its own replica's rows only, so a synchronized
    layer over several replicas needs :func:`synchronized_batch_norm`. In a
    cross-replica context (a callback drawing samples) Keras's call uses the
    local batch too.
    """
    if not layer.synchronized or tf.distribute.get_strategy().num_replicas_in_sync < 2:
        return None
    return tf.distribute.get_replica_context()


def fused_batch_norm_call(self, inputs, training=None, mask=None):
    """``BatchNormalization.call`` through ``FusedBatchNormV3`` in training, Keras's own call otherwise."""
    if not fused_batch_norm_applies(self, inputs, training, mask):
        return keras.layers.BatchNormalization.call(self, inputs, training=training, mask=mask)
    replicas = synchronized_replicas(self)
    if replicas is not None:
        return synchronized_batch_norm(self, inputs, replicas)
    channels = inputs.shape[-1]
    scale = tf.cast(self.gamma, "float32") if self.scale else tf.ones([channels])
    offset = tf.cast(self.beta, "float32") if self.center else tf.zeros([channels])
    as_image = tf.reshape(inputs, [-1, 1, 1, channels]) if len(inputs.shape) == 2 else inputs
    outputs, mean, variance = tf.compat.v1.nn.fused_batch_norm(
        as_image, scale, offset, epsilon=self.epsilon, is_training=True
    )[:3]
    count = tf.cast(tf.size(inputs, out_type=tf.int64) // channels, "float32")
    variance = variance * (count - 1.0) / count  # the kernel returns the unbiased variance; Keras averages the biased
    update_moving_statistics(self, mean, variance)
    return tf.cast(tf.reshape(outputs, tf.shape(inputs)), self.compute_dtype)


def synchronized_batch_norm(layer, inputs, replicas):
    """Keras's synchronized statistics with one all-reduce: sums, sums of squares and the count in one vector.

    Its gradient is one all-reduce too (of the same vector's gradient), where
    Keras's call makes three forward and two backward; the statistics are
    Keras's, E[x^2] - E[x]^2 over the global batch, in float32.
    """
    channels = inputs.shape[-1]
    x = tf.cast(inputs, "float32")
    axes = list(range(len(inputs.shape) - 1))
    count = tf.cast(tf.size(x) // channels, "float32")
    local = tf.concat([tf.reduce_sum(x, axes), tf.reduce_sum(tf.square(x), axes), tf.reshape(count, [1])], 0)
    total = replicas.all_reduce(tf.distribute.ReduceOp.SUM, local)
    mean = total[:channels] / total[-1]
    variance = tf.maximum(total[channels : 2 * channels] / total[-1] - tf.square(mean), 0.0)
    update_moving_statistics(layer, mean, variance)
    scale = tf.cast(layer.gamma, "float32") if layer.scale else None
    offset = tf.cast(layer.beta, "float32") if layer.center else None
    outputs = tf.nn.batch_normalization(x, mean, variance, offset, scale, layer.epsilon)
    return tf.cast(outputs, layer.compute_dtype)


def update_moving_statistics(layer, mean, variance) -> None:
    layer.moving_mean.assign(layer.moving_mean * layer.momentum + mean * (1.0 - layer.momentum))
    layer.moving_variance.assign(layer.moving_variance * layer.momentum + variance * (1.0 - layer.momentum))


# --------------------------------------------------------------------------- GroupNormalization, one group


def layer_norm_applies(layer, inputs) -> bool:
    """One group over (H, W, C) of an image batch, scale and shift on: the critic's layer norm."""
    rank = len(inputs.shape)
    return (
        layer.groups == 1
        and rank == 4
        and layer.axis in (-1, rank - 1)
        and layer.scale
        and layer.center
        and inputs.dtype in ("float16", "bfloat16", "float32", "float64")
    )


def layer_norm_call(self, inputs):
    """``GroupNormalization.call`` for one group by :func:`layer_norm`, Keras's own call otherwise."""
    if not layer_norm_applies(self, inputs):
        return keras.layers.GroupNormalization.call(self, inputs)
    outputs = layer_norm(inputs, self.gamma, self.beta, self.epsilon, name=self.name)
    return tf.cast(outputs, self.compute_dtype)


def layer_norm(x, gamma, beta, epsilon: float, name: str = "layer_norm"):
    """Each sample normalised over (H, W, C), then scaled and shifted per channel; statistics in float32 or wider.

    The backward is written out: with r = 1 / sqrt(var + epsilon), m the mean
    and g = dy * gamma, dx = r g - r mean(g) - r^2 (x - m) mean(g (x - m) r),
    where both means come from per-(sample, channel) sums over (H, W). It
    recomputes the statistics from ``x`` rather than reusing the forward's,
    so that an outer tape (the penalty's) sees how they depend on ``x``. The
    cast to float32 happens once, outside, and both directions share it.
    """
    work = tf.float64 if x.dtype == tf.float64 else tf.float32

    def statistics(x):
        mean = tf.reduce_mean(x, [1, 2, 3], keepdims=True)
        variance = tf.reduce_mean(tf.math.squared_difference(x, mean), [1, 2, 3], keepdims=True)
        return mean, tf.math.rsqrt(variance + epsilon)

    @tf.custom_gradient
    def normalise(x, gamma, beta):
        mean, r = statistics(x)
        scale = r * gamma
        outputs = x * scale + (beta - mean * scale)

        def backward(dy):
            with tf.name_scope(f"{name}_backward"):  # tapes build it outside the layer's scope; profiles find it here
                mean, r = statistics(x)
                sum_dy = tf.reduce_sum(dy, [1, 2])  # (N, C)
                sum_dy_x = tf.reduce_sum(dy * x, [1, 2])
                count = tf.cast(tf.reduce_prod(tf.shape(x)[1:]), x.dtype)
                m, rr = tf.reshape(mean, [-1, 1]), tf.reshape(r, [-1, 1])
                d_gamma = tf.reduce_sum(rr * (sum_dy_x - m * sum_dy), 0)
                d_beta = tf.reduce_sum(sum_dy, 0)
                mean_g = tf.reduce_sum(gamma * sum_dy, 1, keepdims=True) / count  # mean(g) per sample
                mean_g_xhat = rr * (tf.reduce_sum(gamma * sum_dy_x, 1, keepdims=True) / count - m * mean_g)
                a = tf.reshape(-rr * rr * mean_g_xhat, [-1, 1, 1, 1])
                b = tf.reshape(rr * (rr * mean_g_xhat * m - mean_g), [-1, 1, 1, 1])
                return dy * (r * gamma) + x * a + b, d_gamma, d_beta

        return outputs, backward

    outputs = normalise(tf.cast(x, work), tf.cast(gamma, work), tf.cast(beta, work))
    return tf.cast(outputs, x.dtype)
