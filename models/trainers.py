"""GAN trainers: keras.Model subclasses whose train_step reads like the paper's algorithm.

Every update happens under its own ``tf.GradientTape``; the generator and
the discriminator have separate optimizers; ``Mean`` trackers feed ``fit``'s
progress bar with running averages over the epoch.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from losses import (
    class_accuracy,
    class_cross_entropy,
    discriminator_validity_loss,
    generator_validity_loss,
    validity_accuracy,
)


class ConditionalGAN(keras.Model):
    """What every conditional GAN trainer shares: the two networks, optimizers, noise, trackers."""

    discriminator_role = "discriminator"  # the name its checkpoints carry
    metric_names: tuple[str, ...] = ()

    def __init__(self, generator, discriminator, latent_dim: int, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.noise_seed = keras.random.SeedGenerator(seed)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in self.metric_names}

    def compile(self, g_optimizer, d_optimizer, **kwargs):
        super().compile(**kwargs)
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def sample_latent(self, batch_size):
        return keras.random.normal((batch_size, self.latent_dim), seed=self.noise_seed)

    def networks(self) -> dict:
        """The models a checkpoint saves as .h5, by role."""
        return {"generator": self.generator, self.discriminator_role: self.discriminator}

    def optimizers(self) -> dict:
        return {"generator": self.g_optimizer, self.discriminator_role: self.d_optimizer}

    def build_optimizers(self) -> None:
        """Create optimizer slots now (they are lazy) so a checkpoint can be restored into them."""
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)

    @staticmethod
    def apply_gradients(optimizer, tape, loss, variables):
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))

    def record(self, **values):
        for name, value in values.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}


class ConditionalDCGAN(ConditionalGAN):
    """The paper's double loss: validity BCE + class cross-entropy, for D and for G.

    D learns the class of real images only: classifying fakes would reward it
    for agreeing with a generator that does not yet draw the class.
    """

    metric_names = ("d_loss", "g_loss", "d_real_acc", "d_class_acc", "g_class_acc")

    def __init__(self, generator, discriminator, latent_dim: int, class_weight: float = 1.0, **kwargs):
        super().__init__(generator, discriminator, latent_dim, **kwargs)
        self.class_weight = class_weight

    def train_step(self, data):
        real, condition = data
        batch_size = tf.shape(real)[0]

        fake = self.generator([self.sample_latent(batch_size), condition], training=True)
        with tf.GradientTape() as tape:
            real_validity, real_class = self.discriminator(real, training=True)
            fake_validity, _ = self.discriminator(fake, training=True)
            d_loss = discriminator_validity_loss(real_validity, fake_validity)
            d_loss += self.class_weight * class_cross_entropy(condition, real_class)
        self.apply_gradients(self.d_optimizer, tape, d_loss, self.discriminator.trainable_variables)

        with tf.GradientTape() as tape:
            fake = self.generator([self.sample_latent(batch_size), condition], training=True)
            fake_validity, fake_class = self.discriminator(fake, training=True)
            g_loss = generator_validity_loss(fake_validity)
            g_loss += self.class_weight * class_cross_entropy(condition, fake_class)
        self.apply_gradients(self.g_optimizer, tape, g_loss, self.generator.trainable_variables)

        return self.record(
            d_loss=d_loss,
            g_loss=g_loss,
            d_real_acc=validity_accuracy(real_validity, fake_validity),
            d_class_acc=class_accuracy(condition, real_class),
            g_class_acc=class_accuracy(condition, fake_class),
        )
