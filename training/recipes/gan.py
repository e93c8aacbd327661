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

    def compile(self, trainer, settings, found) -> None:
        """A separate Adam for each network, their learning rates reaching 0 together under ``--lr-decay linear``.

        The discriminator or critic updates once per real batch a step takes
        (the WGAN-GP's n_critic), the generator once per step.
        """
        from training.devices import resolve_jit
        from training.optimizers import adam

        steps = found.epochs_actual * found.steps_per_epoch_actual
        optimisation, devices = settings.optimisation, settings.devices
        trainer.compile(
            g_optimizer=adam(optimisation, devices.policy, steps),
            d_optimizer=adam(optimisation, devices.policy, steps * (trainer.real_batches_per_step or 1)),
            jit_compile=resolve_jit(devices.jit, self.xla_on_one_gpu, devices.strategy),
        )

    def callbacks(self, trainer, run, settings, found, data, position, chief: bool) -> list:
        from training.callbacks import DivergenceGuard
        from training.runner import run_directory_callbacks

        callbacks = [DivergenceGuard(first_step=position.step, checkpoint_every=settings.run.checkpoint_every)]
        if chief:
            callbacks += run_directory_callbacks(run, settings, found, data, position)
        return callbacks
