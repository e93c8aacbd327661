"""What the two GAN recipes share: the run directory's grids, checkpoints, figures, and resuming."""

from __future__ import annotations

import argparse

from training.cli import gan_parser
from training.recipes import Recipe
from training.settings import AugmentSettings, DataSettings, DeviceSettings, RunSettings


def gan_sections(networks, losses, optimisation) -> dict:
    """A GAN's sections: its own networks, losses and optimisation beside the ones every GAN has."""
    return {
        "data": DataSettings,
        "networks": networks,
        "losses": losses,
        "optimisation": optimisation,
        "augmentation": AugmentSettings,
        "devices": DeviceSettings,
        "run": RunSettings,
    }


class GANRecipe(Recipe):
    """A conditional GAN: the per-epoch sample grid and mixing matrix, checkpoints, ``--eval-every``."""

    def make_parser(self, prog: str, description: str) -> argparse.ArgumentParser:
        return gan_parser(prog, description)

    @staticmethod
    def gan_arguments(settings) -> dict:
        """What every GAN trainer takes beside its networks and losses: noise, conditions, average, DiffAugment."""
        optimisation, augmentation = settings.optimisation, settings.augmentation
        return {
            "seed": settings.run.seed,
            "mix_fraction": optimisation.mix_fraction,
            "ema_decay": optimisation.ema_decay,
            "augment_policy": augmentation.augment,
            "augment_p": augmentation.augment_p,
        }

    def compile(self, trainer, settings, record) -> None:
        """A separate Adam for each network, their learning rates reaching 0 together under ``--lr-decay linear``.

        The discriminator or critic updates once per real batch a step takes
        (the WGAN-GP's n_critic), the generator once per step.
        """
        from training.devices import resolve_jit
        from training.optimizers import adam

        steps = record.epochs_actual * record.steps_per_epoch_actual
        optimisation, devices = settings.optimisation, settings.devices
        trainer.compile(
            g_optimizer=adam(optimisation, devices.policy, steps),
            d_optimizer=adam(optimisation, devices.policy, steps * trainer.real_batches_per_step),
            jit_compile=resolve_jit(devices.jit, self.xla_on_one_gpu, devices.strategy),
        )

    def callbacks(self, context) -> list:
        """The divergence guard on every worker; the chief alone writes the run directory."""
        from training.callbacks import DivergenceGuard

        settings = context.settings
        callbacks = [DivergenceGuard(first_step=context.position.step, checkpoint_every=settings.run.checkpoint_every)]
        if context.chief:
            callbacks += run_directory_callbacks(context)
        return callbacks


def run_directory_callbacks(context) -> list:
    """Everything that writes a GAN's run directory: figures, log.csv, sample grids, checkpoints, TensorBoard."""
    from sampling import fixed_noise
    from training.callbacks import Checkpoint, EpochLog, MixingMatrix, SampleGrid, tensorboard_callbacks

    settings, run_dir, position = context.settings, context.run_dir, context.position
    names, latent_dim, seed = list(context.record.class_names), settings.networks.latent_dim, settings.run.seed
    noise = fixed_noise(seed, settings.run.sample_columns, latent_dim)
    mixing_noise = fixed_noise(seed, len(names), latent_dim)
    callbacks = [
        *figure_callbacks(context),  # first: figures join the epoch's row
        EpochLog(run_dir.log_csv, resume_epoch=position.epochs),
        SampleGrid(run_dir.samples, noise, names),
        MixingMatrix(run_dir.mixing_matrix, mixing_noise, names),
        Checkpoint(
            run_dir.checkpoints,
            context.record.steps_per_epoch_actual,
            settings.run.checkpoint_every,
            settings.run.keep,
            first_step=position.step,
        ),
    ]
    if settings.run.tensorboard:
        callbacks += tensorboard_callbacks(run_dir.root / "tensorboard", noise, names)
    return callbacks


def figure_callbacks(context) -> list:
    """``--eval-every``'s figures, measured against the val paintings where the dataset has them."""
    run = context.settings.run
    if not run.eval_every:
        return []
    from evaluation.callback import evaluation_callbacks
    from evaluation.settings import EvaluationSettings

    options = EvaluationSettings(inception_weights=run.inception_weights, fid_stats=run.fid_stats)
    return evaluation_callbacks(run.eval_every, context.splits, options)
