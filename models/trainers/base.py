"""What every trainer shares: trackers for ``fit``'s progress bar, gradient averaging, the GAN's two networks.

Every update happens under its own ``tf.GradientTape``; the generator and
the discriminator have separate optimizers; ``Mean`` trackers feed ``fit``'s
progress bar with running averages over the epoch, and a divergence watch
notes on the device where one of them first became NaN or infinite.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from base.streams import stream_key
from models import noise
from models.augment import AdaptiveProbability, augment
from models.fused_norms import fuse_norms
from models.keras_workarounds import PrebuiltTrainer, step_logs
from models.trainers.average import GeneratorAverage

REAL, FAKE, GENERATED = 0, 1, 2  # what a critic view shows: real images, fakes for the critic, fakes for the generator


def loss_scale(optimizer):
    """The dynamic loss scale of a mixed_float16 optimizer (a ``LossScaleOptimizer``); None for any other."""
    return optimizer.dynamic_scale if isinstance(optimizer, keras.optimizers.LossScaleOptimizer) else None


def unwrapped(optimizer):
    """The optimizer that keeps the slots: a loss-scale optimizer's inner one, else the optimizer itself.

    Its variables are the same in float32, bfloat16 and float16, so a run can
    resume in another precision; the loss scale's own two are kept apart
    (``ConditionalGAN.state_variables``).
    """
    return getattr(optimizer, "inner_optimizer", optimizer)


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


class Trainer(PrebuiltTrainer):
    """What every trainer shares: its trackers, its gradient updates and the real batches a step takes.

    ``real_batches_per_step`` and ``side_by_side`` are the trainer's own
    answer to what the data pipeline must hand over: how many real batches
    one step consumes (the WGAN-GP's n_critic; one elsewhere), and whether
    they come side by side, shaped (batch, k, ...), even when k is 1 (the
    WGAN-GP's step reads column i for critic update i), or as one plain batch.
    """

    metric_names: tuple[str, ...] = ()
    real_batches_per_step: int = 1
    side_by_side: bool = False

    @property
    def real_batch_group(self) -> int | None:
        """``data.training_dataset``'s ``group``: the columns of a side-by-side step, None for a plain batch."""
        return self.real_batches_per_step if self.side_by_side else None

    def track(self, names) -> None:
        """A running mean per name, shown by ``fit``'s progress bar and written to log.csv, and their watch."""
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}
        self.watch = DivergenceWatch([*names, *self.current_values()])

    @property
    def metrics(self):
        return list(self.trackers.values())

    def current_values(self) -> dict:
        """Quantities logged as they stand, not as means (ADA's probability)."""
        return {}

    def record(self, **values) -> None:
        """Update the named trackers.

        A value given as ``(per-row values, row weights)`` makes a weighted
        mean, which stays the global-batch ratio on any number of replicas
        (a mean of per-replica ratios would not be).
        """
        for name, value in values.items():
            if isinstance(value, tuple):
                self.trackers[name].update_state(value[0], sample_weight=value[1])
            else:
                self.trackers[name].update_state(value)

    def logs(self) -> dict:
        """What ``train_step`` returns: every tracker's running mean and the current values, noted by the watch."""
        logs = step_logs(self.trackers, self.current_values())
        self.watch.observe(logs)
        return logs

    @staticmethod
    def apply_gradients(optimizer, tape, loss, variables):
        apply_mean_gradients(optimizer, tape, loss, variables)

    def updates_per_step(self) -> dict:
        """How many updates each optimizer makes in one train step, by role (what log.csv counts skips of)."""
        return {role: 1 for role in self.optimizers()}


class ConditionalGAN(Trainer):
    """What every conditional GAN trainer shares: the two networks, optimizers, noise, the weight average."""

    discriminator_role = "discriminator"  # the name its checkpoints carry
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
        for network in (generator, discriminator):
            fuse_norms(network)  # the same layers, shorter training kernels (models/fused_norms.py)
        self.generator = generator
        self.generator_average = GeneratorAverage(generator, ema_decay) if ema_decay > 0 else None
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.seed = int(seed or 0)
        self.mix_fraction = float(mix_fraction)
        self.track(self.metric_names)
        self.mark_built()

    def compile(self, g_optimizer, d_optimizer, **kwargs):
        super().compile(**kwargs)
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer
        self.build_optimizers()

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def critic_input(self, images, *draw_ids):
        """What the discriminator or critic sees of ``images``: themselves, or their DiffAugment.

        ``draw_ids`` keep the draws of each call apart: (REAL or FAKE or GENERATED, critic update).
        """
        step = self.g_optimizer.iterations
        probability = self.augment_p if self.adaptive is None else self.adaptive.probability.value
        return augment(images, self.augment_policy, probability, self.seed, step, *draw_ids)

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

    def updates_per_step(self) -> dict:
        """The generator updates once per step, the discriminator or critic once per real batch (n_critic)."""
        return {"generator": 1, self.discriminator_role: self.real_batches_per_step}

    def state_variables(self) -> dict:
        """Everything besides the networks' weights that resuming must restore, by name.

        Each optimizer's slots are its unwrapped optimizer's, the same in every
        precision; a mixed_float16 run adds its loss scale (``<role>_loss_scale``),
        which a run in another precision goes without (training/checkpoints.py).
        """
        state = {}
        for role, optimizer in self.optimizers().items():
            state[f"{role}_optimizer"] = unwrapped(optimizer).variables
            if loss_scale(optimizer) is not None:
                state[f"{role}_loss_scale"] = [optimizer.step_counter, optimizer.dynamic_scale]
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

    def current_values(self) -> dict:
        return {} if self.adaptive is None else {"augment_p": self.adaptive.probability.value}


class DivergenceWatch:
    """Where the logged values first became NaN or infinite, kept on the device.

    ``observe`` runs inside every train step and reads nothing back: a step
    that waited for the host to turn its losses into Python floats would
    stall a GPU between steps. ``training.callbacks.DivergenceGuard`` reads
    :meth:`first` every few steps and before any checkpoint is written, and
    still names the exact step, whatever ``steps_per_execution`` is.
    Variables take the first replica's values, as ``fit``'s logs do.
    """

    def __init__(self, names):
        self.names = list(names)

        def variable(value, dtype, name):
            return keras.Variable(value, dtype=dtype, trainable=False, aggregation="only_first_replica", name=name)

        self.steps = variable(0, "int64", "watched_steps")  # steps of this epoch observed so far
        self.first_step = variable(0, "int64", "first_nonfinite_step")  # 0 while every value was finite
        self.first_values = variable([0.0] * len(self.names), "float32", "first_nonfinite_values")

    def observe(self, logs: dict) -> None:
        step = self.steps.value + 1
        self.steps.assign(step)
        values = tf.stack([tf.cast(tf.reshape(logs[name], []), tf.float32) for name in self.names])
        newly = tf.logical_and(
            tf.equal(self.first_step.value, 0), tf.logical_not(tf.reduce_all(tf.math.is_finite(values)))
        )
        self.first_step.assign(tf.where(newly, step, self.first_step.value))
        self.first_values.assign(tf.where(newly, values, self.first_values.value))

    def reset(self) -> None:
        """At an epoch's start: steps count from 1 again (the trackers restart too)."""
        self.steps.assign(0)
        self.first_step.assign(0)
        self.first_values.assign(tf.zeros([len(self.names)]))

    def first(self) -> tuple[int, dict] | None:
        """``(step of the epoch, the values logged then)`` of the first non-finite step, or None: one host read."""
        step = int(self.first_step.numpy())
        if not step:
            return None
        return step, dict(zip(self.names, self.first_values.numpy().tolist(), strict=True))
