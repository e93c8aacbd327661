"""GAN trainers: keras.Model subclasses whose train_step reads like the paper's algorithm.

Every update happens under its own ``tf.GradientTape``; the generator and
the discriminator have separate optimizers; ``Mean`` trackers feed ``fit``'s
progress bar with running averages over the epoch.
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from base.choices import CREATIVE_MODES, check_choice
from base.streams import stream_key
from losses import (
    class_accuracy,
    class_cross_entropy,
    class_hits,
    damped_style_loss,
    discriminator_validity_loss,
    generator_validity_loss,
    generator_wasserstein_loss,
    gradient_penalty,
    posterior_entropy,
    style_ambiguity_loss,
    validity_accuracy,
    wasserstein_estimate,
)
from models import noise
from models.augment import AdaptiveProbability, augment
from models.keras_workarounds import PrebuiltTrainer, step_logs

REAL, FAKE, GENERATED = 0, 1, 2  # what a critic view shows: real images, fakes for the critic, fakes for the generator
# The average's decay is min(decay, (1 + t) / (EMA_WARMUP + t)) after t generator steps: until the decay
# binds (t near 20,000 at 0.999), the average's mean age is (EMA_WARMUP + t) / (EMA_WARMUP - 1), 5% of the
# steps so far (StyleGAN2-ADA's ramp-up). TensorFlow's 10 (11%) lagged a still-improving generator
# (BENCHMARKS.md, MNIST WGAN-GP section, "the weight average's horizon").
EMA_WARMUP = 21
STANDING_BATCHES, STANDING_BATCH_SIZE = 8, 64  # draws that set the averaged generator's BatchNorm statistics


def apply_mean_gradients(optimizer, tape, scaled_loss, variables):
    """Gradients of the loss averaged over the global batch, on one device or many.

    Each replica's loss is a mean over its own share of the batch and the
    optimizer sums gradients across replicas, so dividing by the replica
    count makes the update the gradient of the global-batch mean.
    ``scaled_loss`` is ``optimizer.scale_loss(loss)``, taken inside the tape
    (a no-op except under mixed_float16, whose optimizer unscales).
    """
    _, replicas = noise.replica_layout()
    gradients = tape.gradient(scaled_loss, variables)
    if replicas > 1:
        gradients = [g / replicas for g in gradients]
    optimizer.apply_gradients(zip(gradients, variables, strict=True))


class GeneratorAverage:
    """An exponential moving average of the generator's weights (as BigGAN and StyleGAN sample from).

    A GAN generator's weights keep moving around an equilibrium; their
    average draws cleaner samples than the weights of any one step. After
    every generator update, average <- d * average + (1 - d) * weights with
    d = min(decay, (1 + t) / (EMA_WARMUP + t)) at generator step t: the form
    of TensorFlow's ExponentialMovingAverage warm-up, so the average's horizon
    grows with the run (5% of its steps) instead of clinging to the random
    initial weights or trailing far behind a generator that still improves
    (Keras optimizers' ``use_ema`` has no warm-up). The averages are float32
    variables (the generator's variables are float32 under every precision
    policy) that every replica updates to the same value, saved and restored
    with the optimizer state, so
    ``--resume`` continues them exactly. BatchNorm's moving statistics are
    not averaged: the raw generator's belong to the raw weights, so the
    averaged network measures its own on fixed draws (BigGAN's "standing
    statistics").
    """

    def __init__(self, generator, decay: float):
        self.decay = float(decay)
        self.generator = generator
        self.averages = [
            keras.Variable(variable.numpy(), trainable=False, aggregation="only_first_replica", name=f"ema_{index:04d}")
            for index, variable in enumerate(generator.trainable_variables)
        ]
        self._model = None
        self._model_step = None  # the generator step the model's weights were taken at

    def update(self, step) -> None:
        """Move the averages towards the weights after generator update number ``step`` (1-based)."""
        t = tf.cast(step, tf.float32)
        decay = tf.minimum(self.decay, (1.0 + t) / (EMA_WARMUP + t))
        for average, variable in zip(self.averages, self.generator.trainable_variables, strict=True):
            average.assign(decay * average + (1.0 - decay) * tf.cast(variable.value, tf.float32))

    def model(self, step: int) -> keras.Model:
        """A plain generator network holding the averaged weights and BatchNorm statistics measured with them.

        ``step`` is the generator's step count: the grid, the checkpoint and the
        evaluation of one epoch end share one copy instead of measuring it again.
        """
        if self._model is None:
            self._model = keras.models.clone_model(self.generator)
        if self._model_step != step:
            for target, average in zip(self._model.trainable_variables, self.averages, strict=True):
                target.assign(average.numpy())
            standing_statistics(self._model)
            self._model_step = step
        return self._model


def standing_statistics(generator) -> None:
    """Set every BatchNorm layer's moving statistics to their mean over a few fixed draws of (z, class).

    The k-th draw enters with momentum k / (k + 1), so the result is the plain
    mean over the draws; the draws (seeded, every class in turn) make it a
    function of the weights alone.
    """
    norms = [layer for layer in generator.layers if isinstance(layer, keras.layers.BatchNormalization)]
    if not norms:
        return
    latent_dim, classes = generator.inputs[0].shape[-1], generator.inputs[1].shape[-1]
    momenta = [layer.momentum for layer in norms]
    try:
        for k in range(STANDING_BATCHES):
            for layer in norms:
                layer.momentum = k / (k + 1)
            z = tf.random.stateless_normal((STANDING_BATCH_SIZE, latent_dim), stream_key(0, "standing_statistics", k))
            condition = tf.one_hot(tf.range(STANDING_BATCH_SIZE) % classes, classes)
            generator([z, condition], training=True)
    finally:
        for layer, momentum in zip(norms, momenta, strict=True):
            layer.momentum = momentum


class ConditionalGAN(PrebuiltTrainer):
    """What every conditional GAN trainer shares: the two networks, optimizers, noise, trackers."""

    discriminator_role = "discriminator"  # the name its checkpoints carry
    metric_names: tuple[str, ...] = ()
    adaptive_augmentation = False  # whether train_step feeds ADA's heuristic (augment_p="ada")

    def __init__(
        self,
        generator,
        discriminator,
        latent_dim: int,
        seed: int | None = None,
        mix_fraction: float = 0.0,
        ema_decay: float = 0.0,
        augment_policy: tuple = (),
        augment_p: float | str = 1.0,
        ada_target: float = 0.6,
        ada_images: int = 20000,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.augment_policy = tuple(augment_policy)
        self.adaptive = None
        if augment_p == "ada":
            if not self.adaptive_augmentation:
                raise ValueError(f"{type(self).__name__} has no adaptive augmentation (augment_p='ada')")
            self.adaptive = AdaptiveProbability(ada_target, ada_images)
        else:
            self.augment_p = float(augment_p)
        self.generator = generator
        self.generator_average = GeneratorAverage(generator, ema_decay) if ema_decay > 0 else None
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.seed = int(seed or 0)
        self.mix_fraction = float(mix_fraction)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in self.metric_names}
        self.mark_built()

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

    def critic_view(self, images, *where):
        """What the discriminator or critic sees of ``images``: themselves, or their DiffAugment.

        ``where`` keeps the draws of each call apart: (REAL or FAKE or GENERATED, critic update).
        """
        step = self.g_optimizer.iterations
        probability = self.augment_p if self.adaptive is None else self.adaptive.probability.value
        return augment(images, self.augment_policy, probability, self.seed, step, *where)

    def sample_latent(self, batch_size, use: int = 0):
        """z for this step's ``use``-th batch of fakes: a function of the seed and the generator's step count."""
        key = stream_key(self.seed, "z", self.g_optimizer.iterations, use)
        return noise.normal(key, batch_size, self.latent_dim)

    def generator_conditions(self, labels, use: int = 0):
        """The conditions the generator draws for this step's ``use``-th batch of fakes, and the one-hot mask.

        With ``mix_fraction`` > 0 some rows are blends of two classes (see
        ``noise.mixed_conditions``); the class terms on those fakes then aim
        at the blend, half and half.
        """
        step = self.g_optimizer.iterations
        return noise.mixed_conditions(self.seed, step, use, labels, self.mix_fraction)

    def networks(self) -> dict:
        """The trained models, by role: what a checkpoint restores."""
        return {"generator": self.generator, self.discriminator_role: self.discriminator}

    def saved_networks(self) -> dict:
        """The models a checkpoint saves as .h5, by role: the trained ones and the averaged generator."""
        saved = self.networks()
        if self.generator_average is not None:
            saved["generator_ema"] = self.sample_generator()
        return saved

    def saved_roles(self) -> list[str]:
        """The names of the saved networks, without building the averaged one."""
        return [*self.networks(), *(["generator_ema"] if self.generator_average is not None else [])]

    def sample_generator(self) -> keras.Model:
        """The generator that sample grids and evaluations draw from: the averaged one when there is one."""
        if self.generator_average is None:
            return self.generator
        step = int(self.g_optimizer.iterations.numpy())  # int() of the variable itself fails on a MirroredVariable
        return self.generator_average.model(step)

    def optimizers(self) -> dict:
        return {"generator": self.g_optimizer, self.discriminator_role: self.d_optimizer}

    def state_variables(self) -> dict:
        """Everything besides the networks' weights that resuming must restore, by name."""
        state = {f"{role}_optimizer": optimizer.variables for role, optimizer in self.optimizers().items()}
        if self.generator_average is not None:
            state["generator_ema"] = self.generator_average.averages
        if self.adaptive is not None:
            state["augment"] = self.adaptive.variables
        return state

    def apply_generator_gradients(self, tape, scaled_loss) -> None:
        """The generator's update, then the weight average's (one per generator step)."""
        self.apply_gradients(self.g_optimizer, tape, scaled_loss, self.generator.trainable_variables)
        if self.generator_average is not None:
            self.generator_average.update(self.g_optimizer.iterations)

    def build_optimizers(self) -> None:
        """Create optimizer slots now, not lazily inside a graph loop; a checkpoint restores into them."""
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)

    @staticmethod
    def apply_gradients(optimizer, tape, loss, variables):
        apply_mean_gradients(optimizer, tape, loss, variables)

    def record(self, **values):
        """Update the named trackers; return every tracker's running mean (for ``fit``'s logs).

        A value given as ``(per-row values, row weights)`` makes a weighted
        mean, which stays the global-batch ratio on any number of replicas
        (a mean of per-replica ratios would not be).
        """
        for name, value in values.items():
            if isinstance(value, tuple):
                self.trackers[name].update_state(value[0], sample_weight=value[1])
            else:
                self.trackers[name].update_state(value)
        current = {} if self.adaptive is None else {"augment_p": self.adaptive.probability.value}
        return step_logs(self.trackers, current)


class ConditionalDCGAN(ConditionalGAN):
    """The paper's double loss: validity BCE + class cross-entropy, for D and for G.

    D learns the class of real images only: classifying fakes would reward it
    for agreeing with a generator that does not yet draw the class. With
    ``mix_fraction`` > 0 the step's fakes (for D and for G) come from the
    same conditions, some of them two-class blends; ``g_class_acc`` counts
    the one-class rows only.
    """

    metric_names = ("d_loss", "g_loss", "d_real_acc", "d_class_acc", "g_class_acc")
    adaptive_augmentation = True

    def __init__(self, generator, discriminator, latent_dim: int, class_weight: float = 1.0, **kwargs):
        super().__init__(generator, discriminator, latent_dim, **kwargs)
        self.class_weight = class_weight

    def train_step(self, data):
        real, labels = data
        batch_size = tf.shape(real)[0]
        condition, one_class = self.generator_conditions(labels)

        fake = self.generator([self.sample_latent(batch_size, use=0), condition], training=True)
        real, fake = self.critic_view(real, REAL), self.critic_view(fake, FAKE)
        with tf.GradientTape() as tape:
            real_validity, real_class = self.discriminator(real, training=True)
            fake_validity, _ = self.discriminator(fake, training=True)
            d_loss = discriminator_validity_loss(real_validity, fake_validity)
            d_loss += self.class_weight * class_cross_entropy(labels, real_class)
            scaled = self.d_optimizer.scale_loss(d_loss)
        self.apply_gradients(self.d_optimizer, tape, scaled, self.discriminator.trainable_variables)

        with tf.GradientTape() as tape:
            fake = self.generator([self.sample_latent(batch_size, use=1), condition], training=True)
            fake_validity, fake_class = self.discriminator(self.critic_view(fake, GENERATED), training=True)
            g_loss = generator_validity_loss(fake_validity)
            g_loss += self.class_weight * class_cross_entropy(condition, fake_class)
            scaled = self.g_optimizer.scale_loss(g_loss)
        self.apply_generator_gradients(tape, scaled)
        if self.adaptive is not None:  # after the whole step, so all of it used one p
            self.adaptive.observe(real_validity, self.g_optimizer.iterations)

        return self.record(
            d_loss=d_loss,
            g_loss=g_loss,
            d_real_acc=validity_accuracy(real_validity, fake_validity),
            d_class_acc=class_accuracy(labels, real_class),
            g_class_acc=(class_hits(condition, fake_class), one_class),  # one-class rows only
        )


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
    uniform; p = softmax(D_cls(G(z, c))).
    """

    discriminator_role = "critic"
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
        **kwargs,
    ):
        super().__init__(generator, critic, latent_dim, **kwargs)
        check_choice("creative mode", creative, CREATIVE_MODES)
        self.n_critic = n_critic
        self.gp_weight = gp_weight
        self.class_weight = class_weight
        self.critic_class_weight = class_weight if critic_class_weight is None else critic_class_weight
        self.fake_class_loss = fake_class_loss
        self.creative = creative
        self.ambiguity_weight = ambiguity_weight
        self.damping = damping
        self.max_style_entropy = math.log(critic.outputs[1].shape[-1])

    @property
    def critic(self):
        return self.discriminator

    def critic_score(self, images):
        return self.critic(images, training=True)[0]

    @tf.autograph.experimental.do_not_convert  # no Python control flow; autograph mis-binds it under a lambda
    def critic_on_both(self, real, fake):
        """``(real scores, fake scores, real class logits, fake class logits)`` from one critic pass.

        The critic has no batch statistics (layer normalisation per sample),
        so one pass over the real and fake images stacked computes what two
        passes do, in half the kernel launches and with twice the batch per
        convolution.
        """
        count = tf.shape(real)[0]
        scores, classes = self.critic(tf.concat([real, tf.cast(fake, real.dtype)], axis=0), training=True)
        return scores[:count], scores[count:], classes[:count], classes[count:]

    def critic_step(self, real, labels, index=0):
        """One critic update; ``index`` (0..n_critic-1) keeps its noise draws apart from the others'."""
        batch_size = tf.shape(real)[0]
        condition, _ = self.generator_conditions(labels, use=1 + index)
        fake = self.generator([self.sample_latent(batch_size, use=1 + index), condition], training=True)
        epsilon = noise.uniform(stream_key(self.seed, "interpolation", self.g_optimizer.iterations, index), batch_size)
        # The penalty's interpolates join the augmented real and fake images: the critic is
        # only ever evaluated on augmented images, so its 1-Lipschitz constraint belongs there.
        real, fake = self.critic_view(real, REAL, index), self.critic_view(fake, FAKE, index)
        with tf.GradientTape() as tape:
            real_score, fake_score, real_class, fake_class = self.critic_on_both(real, fake)
            wasserstein = wasserstein_estimate(real_score, fake_score)
            penalty = gradient_penalty(self.critic_score, real, fake, epsilon)
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
            fake_score, fake_class = self.critic(self.critic_view(fake, GENERATED), training=True)
            loss = generator_wasserstein_loss(fake_score) + self.style_term(condition, fake_class)
            scaled = self.g_optimizer.scale_loss(loss)
        self.apply_generator_gradients(tape, scaled)
        return self.record(
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
            # penalty) once instead of n_critic times, which makes tracing ~5x faster.
            tf.while_loop(lambda i: i < self.n_critic, one_critic_update, (tf.constant(0),))
        return self.generator_step(conditions[:, -1])


class CriticPretrainer(PrebuiltTrainer):
    """GANGogh's critic pretraining: learn the styles before any adversarial game.

    The class head learns the style labels of real images; with a generator
    given (an untrained one, frozen), the score head also learns to tell real
    from generated under the gradient penalty, as in WGAN-GP training.
    ``test_step`` reports style accuracy, so ``fit``'s validation data gives
    ``val_style_acc``.
    """

    def __init__(self, critic, generator=None, latent_dim: int = 100, gp_weight: float = 10.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.critic = critic
        self.generator = generator
        self.latent_dim = latent_dim
        self.gp_weight = gp_weight
        self.seed = int(seed or 0)
        names = ["loss", "style_loss", "style_acc"] + (["wasserstein", "gp"] if generator is not None else [])
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}
        self.mark_built()

    def compile(self, optimizer, **kwargs):
        super().compile(optimizer=optimizer, **kwargs)
        self.optimizer.build(self.critic.trainable_variables)

    @property
    def metrics(self):
        return list(self.trackers.values())

    def optimizers(self) -> dict:
        return {"critic": self.optimizer}

    def call(self, images, training=False):
        return self.critic(images, training=training)

    def adversarial_terms(self, real, condition):
        batch_size = tf.shape(real)[0]
        step = self.optimizer.iterations
        z = noise.normal(stream_key(self.seed, "z", step, 0), batch_size, self.latent_dim)
        fake = self.generator([z, condition], training=False)
        epsilon = noise.uniform(stream_key(self.seed, "interpolation", step, 0), batch_size)
        wasserstein = wasserstein_estimate(self.critic(real, training=True)[0], self.critic(fake, training=True)[0])
        penalty = gradient_penalty(lambda x: self.critic(x, training=True)[0], real, fake, epsilon)
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
        apply_mean_gradients(self.optimizer, tape, scaled, self.critic.trainable_variables)
        accuracy = class_accuracy(condition, logits)
        for name, value in {"loss": loss, "style_loss": style_loss, "style_acc": accuracy, **extra}.items():
            self.trackers[name].update_state(value)
        return step_logs(self.trackers)

    def test_step(self, data):
        real, condition = data
        logits = self.critic(real, training=False)[1]
        self.trackers["style_loss"].update_state(class_cross_entropy(condition, logits))
        self.trackers["style_acc"].update_state(class_accuracy(condition, logits))
        return step_logs({name: self.trackers[name] for name in ("style_loss", "style_acc")})
