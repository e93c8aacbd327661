"""The paper's conditional DC-GAN trainer: the double loss, for D and for G."""

from __future__ import annotations

import tensorflow as tf

from losses import (
    class_accuracy,
    class_cross_entropy,
    class_hits,
    discriminator_validity_loss,
    generator_validity_loss,
    projected_score,
    validity_accuracy,
)
from models.remapper import without_the_remapper
from models.trainers.base import FAKE, GENERATED, REAL, ConditionalGAN


class ConditionalDCGAN(ConditionalGAN):
    """The paper's double loss: validity BCE + class cross-entropy, for D and for G.

    D learns the class of real images only: classifying fakes would reward it
    for agreeing with a generator that does not yet draw the class. With
    ``mix_fraction`` > 0 the step's fakes (for D and for G) come from the
    same conditions, some of them two-class blends; ``g_class_acc`` counts
    the one-class rows only. With ``projection``, D's validity logit becomes
    a projection discriminator's, validity + <c, class logits> (see
    ``losses.projected_score``), for real images with their labels and fakes
    with their conditions; the class terms stay, weighted by ``class_weight``.

    The step is optimised without TensorFlow's remapper, which fails on the
    discriminator's first block and says so on stderr; the figures are the
    same (``models.remapper``).
    """

    metric_names = ("d_loss", "g_loss", "d_real_acc", "d_class_acc", "g_class_acc")
    adaptive_augmentation = True

    def __init__(
        self, generator, discriminator, latent_dim: int, class_weight: float = 1.0, projection: bool = False, **kwargs
    ):
        super().__init__(generator, discriminator, latent_dim, **kwargs)
        self.class_weight = class_weight
        self.projection = projection

    def validity(self, logit, class_logits, conditions):
        """The adversarial logit: D's validity head, or with ``projection`` its projection on the condition."""
        return projected_score(logit, class_logits, conditions) if self.projection else logit

    def make_train_function(self, force=False):
        if self.train_function is None or force:
            super().make_train_function(force)
            self.train_function = without_the_remapper(self.train_function)
        return self.train_function

    def train_step(self, data):
        real, labels = data
        batch_size = tf.shape(real)[0]
        condition, one_class = self.generator_conditions(labels)

        fake = self.generator([self.sample_latent(batch_size, use=0), condition], training=True)
        real, fake = self.critic_input(real, REAL), self.critic_input(fake, FAKE)
        with tf.GradientTape() as tape:
            real_validity, real_class = self.discriminator(real, training=True)
            real_validity = self.validity(real_validity, real_class, labels)
            fake_validity, fake_class = self.discriminator(fake, training=True)
            fake_validity = self.validity(fake_validity, fake_class, condition)
            d_loss = discriminator_validity_loss(real_validity, fake_validity)
            d_loss += self.class_weight * class_cross_entropy(labels, real_class)
            scaled = self.d_optimizer.scale_loss(d_loss)
        self.apply_gradients(self.d_optimizer, tape, scaled, self.discriminator.trainable_variables)

        with tf.GradientTape() as tape:
            fake = self.generator([self.sample_latent(batch_size, use=1), condition], training=True)
            fake_validity, fake_class = self.discriminator(self.critic_input(fake, GENERATED), training=True)
            fake_validity = self.validity(fake_validity, fake_class, condition)
            g_loss = generator_validity_loss(fake_validity)
            g_loss += self.class_weight * class_cross_entropy(condition, fake_class)
            scaled = self.g_optimizer.scale_loss(g_loss)
        self.apply_generator_gradients(tape, scaled)
        if self.adaptive is not None:  # after the whole step, so all of it used one p
            self.adaptive.observe(real_validity, self.g_optimizer.iterations)

        self.record(
            d_loss=d_loss,
            g_loss=g_loss,
            d_real_acc=validity_accuracy(real_validity, fake_validity),
            d_class_acc=class_accuracy(labels, real_class),
            g_class_acc=(class_hits(condition, fake_class), one_class),  # one-class rows only
        )
        return self.logs()
