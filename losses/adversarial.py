"""The DC-GAN's validity terms: binary cross-entropy on logits."""

import tensorflow as tf


def _bce(logits, target: float):
    logits = tf.cast(logits, tf.float32)
    labels = tf.fill(tf.shape(logits), target)
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))


def discriminator_validity_loss(real_logits, fake_logits):
    """-log D(x) - log(1 - D(G(z))): real scored 1, generated scored 0."""
    return _bce(real_logits, 1.0) + _bce(fake_logits, 0.0)


def generator_validity_loss(fake_logits):
    """The non-saturating generator loss -log D(G(z)) (Goodfellow et al.)."""
    return _bce(fake_logits, 1.0)


def validity_accuracy(real_logits, fake_logits):
    """Fraction of real and generated images the discriminator labels correctly."""
    real_right = tf.cast(tf.cast(real_logits, tf.float32) > 0.0, tf.float32)
    fake_right = tf.cast(tf.cast(fake_logits, tf.float32) < 0.0, tf.float32)
    return 0.5 * (tf.reduce_mean(real_right) + tf.reduce_mean(fake_right))
