"""WGAN-GP terms (Gulrajani et al. 2017): Wasserstein estimate and gradient penalty."""

import tensorflow as tf

NORM_EPSILON = 1e-12  # keeps the norm's gradient finite where the critic's gradient vanishes


def wasserstein_estimate(real_scores, fake_scores):
    """E[D(x)] - E[D(G(z))]: what the critic maximises, an estimate of the W-1 distance."""
    return tf.reduce_mean(tf.cast(real_scores, tf.float32)) - tf.reduce_mean(tf.cast(fake_scores, tf.float32))


def generator_wasserstein_loss(fake_scores):
    """-E[D(G(z))]: the generator raises the critic's score of its images."""
    return -tf.reduce_mean(tf.cast(fake_scores, tf.float32))


def interpolate(real, fake, epsilon):
    """x_hat = eps * x + (1 - eps) * x_fake, one eps per sample, broadcast over the image."""
    epsilon = tf.reshape(tf.cast(epsilon, real.dtype), [-1] + [1] * (len(real.shape) - 1))
    return epsilon * real + (1.0 - epsilon) * tf.cast(fake, real.dtype)


def gradient_penalty(score_fn, real, fake, epsilon, scale=None):
    """E[(||grad_x_hat D(x_hat)||_2 - 1)^2] on random interpolates.

    The norm is per sample over all non-batch axes; this is only the gradient
    of each sample's own score when the critic has no batch statistics.
    ``scale``: see :func:`input_gradients`.
    """
    gradients = input_gradients(score_fn, interpolate(real, fake, epsilon), scale)
    axes = list(range(1, len(gradients.shape)))
    norms = tf.sqrt(tf.reduce_sum(tf.square(gradients), axis=axes) + NORM_EPSILON)
    return tf.reduce_mean(tf.square(norms - 1.0))


def input_gradients(score_fn, x_hat, scale=None):
    """d score / d x_hat per sample, in float32: the penalty's inner gradient.

    ``scale`` (mixed_float16's loss scale) multiplies the scores before the
    backward and is divided out in float32 afterwards, as PyTorch's
    mixed-precision recipe for penalties does: the backward then runs through
    float16 activations at the loss scale, where the unscaled one loses its
    smallest terms to underflow. A scale too large overflows into a
    non-finite penalty; the update is then skipped and the loss scale
    halves, as for any overflow (BENCHMARKS.md, "GPU readiness").
    """
    with tf.GradientTape() as tape:
        tape.watch(x_hat)
        scores = tf.cast(score_fn(x_hat), tf.float32)
        if scale is not None:
            scores = scores * scale
    gradients = tf.cast(tape.gradient(scores, x_hat), tf.float32)
    return gradients if scale is None else gradients / scale
