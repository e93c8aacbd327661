"""The critic's side of the Wasserstein game, shared by the WGAN-GP and the critic's pretraining."""

from __future__ import annotations

import tensorflow as tf

from losses import gradient_penalty, interpolate, projected_score, wasserstein_estimate


@tf.autograph.experimental.do_not_convert  # no Python control flow; autograph mis-binds it under a lambda
def critic_on_both(critic, real, fake):
    """``(real scores, fake scores, real class logits, fake class logits)`` from one critic pass.

    The critic has no batch statistics (layer normalisation per sample),
    so one pass over the real and fake images stacked computes what two
    passes do, in half the kernel launches and with twice the batch per
    convolution.
    """
    count = tf.shape(real)[0]
    scores, classes = critic(tf.concat([real, tf.cast(fake, real.dtype)], axis=0), training=True)
    return scores[:count], scores[count:], classes[:count], classes[count:]


def penalised_wasserstein(critic, real, fake, epsilon, conditions=None, scale=None):
    """``(W estimate, gradient penalty, real class logits, fake class logits)``: the critic's adversarial terms.

    ``epsilon`` places each interpolate between its real and fake image; the
    penalty's pass stays apart from the stacked one, which its double
    backward would otherwise make larger (BENCHMARKS.md). ``conditions``:
    None for the critic's plain score, or ``(real's, fake's)`` condition
    vectors for a projection critic, score + <c, class logits>; each
    interpolate then takes the same blend of the two conditions. ``scale``:
    the critic optimizer's loss scale under mixed_float16, which the
    penalty's inner gradient takes too (``losses.input_gradients``).
    """
    real_score, fake_score, real_class, fake_class = critic_on_both(critic, real, fake)
    if conditions is None:
        score = lambda images: critic(images, training=True)[0]  # noqa: E731
    else:
        real_condition, fake_condition = conditions
        real_score = projected_score(real_score, real_class, real_condition)
        fake_score = projected_score(fake_score, fake_class, fake_condition)
        blended = interpolate(real_condition, fake_condition, epsilon)
        score = lambda images: projected_score(*critic(images, training=True), blended)  # noqa: E731
    penalty = gradient_penalty(score, real, fake, epsilon, scale)
    return wasserstein_estimate(real_score, fake_score), penalty, real_class, fake_class
