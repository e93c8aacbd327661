"""Class terms on float condition vectors: one-hot, mixed (e_i + e_j) / 2, or soft targets."""

import tensorflow as tf


def class_cross_entropy(conditions, class_logits):
    """Mean softmax cross-entropy against a (possibly soft) target distribution."""
    conditions = tf.cast(conditions, tf.float32)
    targets = conditions / tf.maximum(tf.reduce_sum(conditions, axis=-1, keepdims=True), 1e-12)
    logits = tf.cast(class_logits, tf.float32)
    return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=targets, logits=logits))


def class_hits(conditions, class_logits):
    """1.0 per row whose arg-max class matches the condition's dominant class, else 0.0."""
    hits = tf.equal(tf.argmax(class_logits, axis=-1), tf.argmax(conditions, axis=-1))
    return tf.cast(hits, tf.float32)


def class_accuracy(conditions, class_logits):
    """How often the arg-max class matches the condition's dominant class."""
    return tf.reduce_mean(class_hits(conditions, class_logits))


def projected_score(score, class_logits, conditions):
    """A projection discriminator's output on a two-headed network: score(x) + <c, class logits(x)>.

    Miyato & Koyama (2018) write D(x, y) = psi(phi(x)) + y^T V phi(x); the
    class head's kernel is V, so the network the paper trains for its class
    term already holds the projection, and a float condition (a one-hot, a
    blend (e_i + e_j) / 2) enters linearly. Unlike the class cross-entropy,
    which a generator satisfies with whatever the class head reads, the
    projection makes "real and of class c" the adversarial question itself.
    """
    score = tf.cast(score, tf.float32)
    projection = tf.reduce_sum(tf.cast(conditions, tf.float32) * tf.cast(class_logits, tf.float32), axis=-1)
    return score + tf.reshape(projection, tf.shape(score))
