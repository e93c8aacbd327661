"""The paper's conditional WGAN-GP trainer: n_critic critic updates under the gradient penalty, then G."""

from __future__ import annotations

import math

import tensorflow as tf

from base.choices import CREATIVE_MODES, check_choice
from base.streams import stream_key
from losses import (
    class_accuracy,
    class_cross_entropy,
    class_hits,
    damped_style_loss,
    generator_wasserstein_loss,
    posterior_entropy,
    projected_score,
    style_ambiguity_loss,
)
from models import noise
from models.trainers.base import FAKE, GENERATED, REAL, ConditionalGAN, loss_scale
from models.trainers.critic_terms import penalised_wasserstein


class ConditionalWGANGP(ConditionalGAN):
    """Algorithm 1 of Gulrajani et al. with the paper's class terms.

    Each ``train_step`` receives ``n_critic`` real batches side by side
    (images shaped (batch, n_critic, H, W, C)), so every critic update sees
    its own fresh real batch, then makes one generator update. The batch axis
    comes first so that tf.distribute splits every critic batch across
    replicas, rather than giving each replica different critic batches.
    Critic: -W + lambda * GP + CE(class(real), c) [+ CE(class(fake), c)];
    generator: -E[D(G(z, c))] + a style term, by ``creative`` mode:
    ``off`` CE(c, p) (the paper), ``can`` lambda_amb * CE(uniform, p) (Creative
    Adversarial Networks), ``damped`` ||p - Tv||^2 with Tv = (1 - alpha) c + alpha
    uniform; p = softmax(D_cls(G(z, c))). With ``projection`` the critic's
    score is a projection critic's, D(x) + <c, D_cls(x)> (``losses.projected_score``),
    in the Wasserstein terms, the penalty and the generator's term alike.
    """

    discriminator_role = "critic"
    side_by_side = True  # the n_critic real batches come as the columns of one (batch, n_critic, ...) batch
    metric_names = (
        "critic_loss",
        "g_loss",
        "wasserstein",
        "gp",
        "real_class_acc",
        "fake_class_acc",
        "style_entropy",
        "style_entropy_max",
    )

    def __init__(
        self,
        generator,
        critic,
        latent_dim: int,
        n_critic: int = 5,
        gp_weight: float = 10.0,
        class_weight: float = 1.0,
        critic_class_weight: float | None = None,
        fake_class_loss: bool = True,
        creative: str = "off",
        ambiguity_weight: float = 1.0,
        damping: float = 0.5,
        projection: bool = False,
        **kwargs,
    ):
        super().__init__(generator, critic, latent_dim, **kwargs)
        check_choice("creative mode", creative, CREATIVE_MODES)
        self.n_critic = n_critic
        self.real_batches_per_step = n_critic  # each critic update takes its own real batch
        self.gp_weight = gp_weight
        self.class_weight = class_weight
        self.critic_class_weight = class_weight if critic_class_weight is None else critic_class_weight
        self.fake_class_loss = fake_class_loss
        self.creative = creative
        self.ambiguity_weight = ambiguity_weight
        self.damping = damping
        self.projection = projection
        self.max_style_entropy = math.log(critic.outputs[1].shape[-1])

    @property
    def critic(self):
        return self.discriminator

    def critic_step(self, real, labels, index=0):
        """One critic update; ``index`` (0..n_critic-1) keeps its noise draws apart from the others'."""
        batch_size = tf.shape(real)[0]
        condition, _ = self.generator_conditions(labels, use=1 + index)
        fake = self.generator([self.sample_latent(batch_size, use=1 + index), condition], training=True)
        epsilon = noise.uniform(stream_key(self.seed, "interpolation", self.g_optimizer.iterations, index), batch_size)
        # The penalty's interpolates join the augmented real and fake images: the critic is
        # only ever evaluated on augmented images, so its 1-Lipschitz constraint belongs there.
        real, fake = self.critic_input(real, REAL, index), self.critic_input(fake, FAKE, index)
        with tf.GradientTape() as tape:
            conditions = (labels, condition) if self.projection else None
            wasserstein, penalty, real_class, fake_class = penalised_wasserstein(
                self.critic, real, fake, epsilon, conditions, loss_scale(self.d_optimizer)
            )
            class_loss = class_cross_entropy(labels, real_class)
            if self.fake_class_loss:
                class_loss += class_cross_entropy(condition, fake_class)
            loss = -wasserstein + self.gp_weight * penalty + self.critic_class_weight * class_loss
            scaled = self.d_optimizer.scale_loss(loss)
        self.apply_gradients(self.d_optimizer, tape, scaled, self.critic.trainable_variables)
        self.record(
            critic_loss=loss,
            wasserstein=wasserstein,
            gp=penalty,
            real_class_acc=class_accuracy(labels, real_class),
        )

    def generator_step(self, labels):
        batch_size = tf.shape(labels)[0]
        condition, one_class = self.generator_conditions(labels)
        with tf.GradientTape() as tape:
            fake = self.generator([self.sample_latent(batch_size, use=0), condition], training=True)
            fake_score, fake_class = self.critic(self.critic_input(fake, GENERATED), training=True)
            if self.projection:
                fake_score = projected_score(fake_score, fake_class, condition)
            loss = generator_wasserstein_loss(fake_score) + self.style_term(condition, fake_class)
            scaled = self.g_optimizer.scale_loss(loss)
        self.apply_generator_gradients(tape, scaled)
        self.record(
            g_loss=loss,
            fake_class_acc=(class_hits(condition, fake_class), one_class),  # one-class rows only
            style_entropy=posterior_entropy(fake_class),
            style_entropy_max=self.max_style_entropy,
        )

    def style_term(self, condition, fake_class):
        if self.creative == "can":
            return self.ambiguity_weight * style_ambiguity_loss(fake_class)
        if self.creative == "damped":
            return self.class_weight * damped_style_loss(condition, fake_class, self.damping)
        return self.class_weight * class_cross_entropy(condition, fake_class)

    def train_step(self, data):
        images, conditions = data  # (batch, n_critic, ...): column i is critic update i's real batch

        def one_critic_update(i):
            self.critic_step(tf.gather(images, i, axis=1), tf.gather(conditions, i, axis=1), i)
            return (i + 1,)

        if tf.distribute.has_strategy():
            # Any tf.distribute strategy, even over one device, synchronises replicas (gradient
            # all-reduce, synchronized BatchNorm) with merge_call, which a graph loop cannot hold:
            # unroll the critic updates instead.
            for i in range(self.n_critic):
                one_critic_update(i)
        else:
            # No strategy: a graph loop traces the critic update (and its double-backprop
            # penalty) once instead of n_critic times: tracing is that much shorter.
            tf.while_loop(lambda i: i < self.n_critic, one_critic_update, (tf.constant(0),))
        self.generator_step(conditions[:, -1])
        return self.logs()
