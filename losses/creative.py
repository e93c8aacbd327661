"""Creative generator terms: style ambiguity (Creative Adversarial Networks) and its damped variant.

Both read the critic's style posterior softmax(D_cls(G(z, c))) and replace
the generator's usual class term CE(c, posterior).
"""

import tensorflow as tf


def style_posterior(class_logits):
    return tf.nn.softmax(tf.cast(class_logits, tf.float32), axis=-1)


def style_ambiguity_loss(class_logits):
    """CE(uniform, posterior) = -1/K sum_k log p_k: smallest (log K) when no style is favoured (CAN)."""
    log_posterior = tf.nn.log_softmax(tf.cast(class_logits, tf.float32), axis=-1)
    return -tf.reduce_mean(tf.reduce_mean(log_posterior, axis=-1))


def damped_target(conditions, damping):
    """Tv = (1 - alpha) * Cv + alpha * uniform: alpha 0 keeps the style, 1 asks for full ambiguity."""
    conditions = tf.cast(conditions, tf.float32)
    uniform = tf.ones_like(conditions) / tf.cast(tf.shape(conditions)[-1], tf.float32)
    return (1.0 - damping) * conditions + damping * uniform


def damped_style_loss(conditions, class_logits, damping):
    """|| posterior - Tv ||^2, summed over styles and averaged over the batch."""
    difference = style_posterior(class_logits) - damped_target(conditions, damping)
    return tf.reduce_mean(tf.reduce_sum(tf.square(difference), axis=-1))


def posterior_entropy(class_logits):
    """Mean entropy of the style posterior (at most log K): how ambiguous the outputs look."""
    log_posterior = tf.nn.log_softmax(tf.cast(class_logits, tf.float32), axis=-1)
    return -tf.reduce_mean(tf.reduce_sum(tf.exp(log_posterior) * log_posterior, axis=-1))
