"""GANGogh's critic pretraining: the critic learns the styles before any adversarial game."""

from __future__ import annotations

import tensorflow as tf

from base.streams import stream_key
from losses import class_accuracy, class_cross_entropy
from models import noise
from models.fused_norms import fuse_norms
from models.keras_workarounds import step_logs
from models.trainers.base import Trainer, loss_scale
from models.trainers.critic_terms import penalised_wasserstein


class CriticPretrainer(Trainer):
    """GANGogh's critic pretraining: learn the styles before any adversarial game.

    The class head learns the style labels of real images; with a generator
    given (an untrained one, frozen), the score head also learns to tell real
    from generated under the gradient penalty, as in WGAN-GP training.
    ``test_step`` reports style accuracy, so ``fit``'s validation data gives
    ``val_style_acc``.
    """

    def __init__(self, critic, generator=None, latent_dim: int = 100, gp_weight: float = 10.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        fuse_norms(critic)  # the same layers, shorter training kernels (models/fused_norms.py)
        self.critic = critic
        self.generator = generator
        self.latent_dim = latent_dim
        self.gp_weight = gp_weight
        self.seed = int(seed or 0)
        names = ["loss", "style_loss", "style_acc"] + (["wasserstein", "gp"] if generator is not None else [])
        self.track(names)
        self.mark_built()

    def compile(self, optimizer, **kwargs):
        super().compile(optimizer=optimizer, **kwargs)
        self.optimizer.build(self.critic.trainable_variables)

    def optimizers(self) -> dict:
        return {"critic": self.optimizer}

    def networks(self) -> dict:
        """The trained network, by role (the generator, if any, stays untrained)."""
        return {"critic": self.critic}

    def call(self, images, training=False):
        return self.critic(images, training=training)

    def adversarial_terms(self, real, condition):
        batch_size = tf.shape(real)[0]
        step = self.optimizer.iterations
        z = noise.normal(stream_key(self.seed, "z", step, 0), batch_size, self.latent_dim)
        fake = self.generator([z, condition], training=False)
        epsilon = noise.uniform(stream_key(self.seed, "interpolation", step, 0), batch_size)
        wasserstein, penalty, _, _ = penalised_wasserstein(
            self.critic, real, fake, epsilon, scale=loss_scale(self.optimizer)
        )
        return wasserstein, penalty

    def train_step(self, data):
        real, condition = data
        with tf.GradientTape() as tape:
            logits = self.critic(real, training=True)[1]
            style_loss = class_cross_entropy(condition, logits)
            loss = style_loss
            extra = {}
            if self.generator is not None:
                wasserstein, penalty = self.adversarial_terms(real, condition)
                loss += -wasserstein + self.gp_weight * penalty
                extra = {"wasserstein": wasserstein, "gp": penalty}
            scaled = self.optimizer.scale_loss(loss)
        self.apply_gradients(self.optimizer, tape, scaled, self.critic.trainable_variables)
        self.record(loss=loss, style_loss=style_loss, style_acc=class_accuracy(condition, logits), **extra)
        return self.logs()

    def test_step(self, data):
        real, condition = data
        logits = self.critic(real, training=False)[1]
        self.trackers["style_loss"].update_state(class_cross_entropy(condition, logits))
        self.trackers["style_acc"].update_state(class_accuracy(condition, logits))
        return step_logs({name: self.trackers[name] for name in ("style_loss", "style_acc")})
