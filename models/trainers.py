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
    generator_wasserstein_loss,
    gradient_penalty,
    validity_accuracy,
    wasserstein_estimate,
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
        self.build_optimizers()

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
        """Create optimizer slots now, not lazily inside a graph loop; a checkpoint restores into them."""
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)

    @staticmethod
    def apply_gradients(optimizer, tape, loss, variables):
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))

    def record(self, **values):
        """Update the named trackers; return every tracker's running mean (for ``fit``'s logs)."""
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


class ConditionalWGANGP(ConditionalGAN):
    """Algorithm 1 of Gulrajani et al. with the paper's class terms.

    Each ``train_step`` receives ``n_critic`` real batches stacked into one
    (the pipeline batches ``n_critic * batch_size`` images), so every critic
    update sees its own fresh real batch, then makes one generator update.
    Critic: -W + lambda * GP + CE(class(real), c) [+ CE(class(fake), c)];
    generator: -E[D(G(z, c))] + CE(class(G(z, c)), c).
    """

    discriminator_role = "critic"
    metric_names = ("critic_loss", "g_loss", "wasserstein", "gp", "real_class_acc", "fake_class_acc")

    def __init__(
        self,
        generator,
        critic,
        latent_dim: int,
        n_critic: int = 5,
        gp_weight: float = 10.0,
        class_weight: float = 1.0,
        fake_class_loss: bool = True,
        **kwargs,
    ):
        super().__init__(generator, critic, latent_dim, **kwargs)
        self.n_critic = n_critic
        self.gp_weight = gp_weight
        self.class_weight = class_weight
        self.fake_class_loss = fake_class_loss

    @property
    def critic(self):
        return self.discriminator

    def critic_score(self, images):
        return self.critic(images, training=True)[0]

    def critic_step(self, real, condition):
        batch_size = tf.shape(real)[0]
        fake = self.generator([self.sample_latent(batch_size), condition], training=True)
        epsilon = keras.random.uniform((batch_size,), seed=self.noise_seed)
        with tf.GradientTape() as tape:
            real_score, real_class = self.critic(real, training=True)
            fake_score, fake_class = self.critic(fake, training=True)
            wasserstein = wasserstein_estimate(real_score, fake_score)
            penalty = gradient_penalty(self.critic_score, real, fake, epsilon)
            class_loss = class_cross_entropy(condition, real_class)
            if self.fake_class_loss:
                class_loss += class_cross_entropy(condition, fake_class)
            loss = -wasserstein + self.gp_weight * penalty + self.class_weight * class_loss
        self.apply_gradients(self.d_optimizer, tape, loss, self.critic.trainable_variables)
        self.record(
            critic_loss=loss,
            wasserstein=wasserstein,
            gp=penalty,
            real_class_acc=class_accuracy(condition, real_class),
        )

    def generator_step(self, condition):
        batch_size = tf.shape(condition)[0]
        with tf.GradientTape() as tape:
            fake = self.generator([self.sample_latent(batch_size), condition], training=True)
            fake_score, fake_class = self.critic(fake, training=True)
            loss = generator_wasserstein_loss(fake_score)
            loss += self.class_weight * class_cross_entropy(condition, fake_class)
        self.apply_gradients(self.g_optimizer, tape, loss, self.generator.trainable_variables)
        return self.record(g_loss=loss, fake_class_acc=class_accuracy(condition, fake_class))

    def train_step(self, data):
        images, conditions = data
        batch_size = tf.shape(images)[0] // self.n_critic

        def one_critic_update(i):
            chunk = slice(i * batch_size, (i + 1) * batch_size)
            self.critic_step(images[chunk], conditions[chunk])
            return (i + 1,)

        # A graph loop traces the critic update (and its double-backprop penalty) once, not n_critic times.
        tf.while_loop(lambda i: i < self.n_critic, one_critic_update, (tf.constant(0),))
        return self.generator_step(conditions[-batch_size:])
