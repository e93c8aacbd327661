"""Critic pretraining (GANGogh): the critic learns the styles before adversarial training starts.

Early adversarial training is wasted while the critic cannot yet tell the
styles apart: its class signal to the generator means nothing. Pretraining
the class head on real paintings (and, optionally, the score head against an
untrained generator) gives train_wgan_gp.py a critic that already knows art.
"""

from __future__ import annotations

import argparse
import logging
import math
from pathlib import Path

from training.cli import (
    add_data_flags,
    add_out_flags,
    add_training_flags,
    bare_parser,
    open_fraction,
    positive_float,
    positive_int,
)
from training.recipes import Recipe
from training.settings import (
    PAPER_WIKIART,
    CriticLosses,
    CriticNetworks,
    CriticOptimisation,
    DataSettings,
    DeviceSettings,
    OutputSettings,
)

log = logging.getLogger("artgan")

DESCRIPTION = """Pretrain the WGAN-GP critic on real images before adversarial training (GANGogh).

The critic's class head learns the style labels; with --adversarial its score
head also learns real against an untrained generator, under the gradient
penalty. Style accuracy on a validation split (WikiArt's style_val.csv, else a
held-out fraction) is reported every epoch. The result, critic_pretrained.h5,
starts a WGAN-GP run:

  python pretrain_critic.py --dataset wikiart --data-dir ~/data/wikiart --epochs 5 --out runs/critic
  python train_wgan_gp.py --dataset wikiart --data-dir ~/data/wikiart --critic-weights runs/critic/critic_pretrained.h5
"""

PRETRAINED_NAME = "critic_pretrained.h5"


class CriticPretrainingRecipe(Recipe):
    script = "pretrain_critic"
    description = DESCRIPTION
    section_classes = {
        "data": DataSettings,
        "networks": CriticNetworks,
        "losses": CriticLosses,
        "optimisation": CriticOptimisation,
        "augmentation": None,
        "devices": DeviceSettings,
        "run": OutputSettings,
    }

    def make_parser(self, prog: str, description: str) -> argparse.ArgumentParser:
        """Data, training and output flags: no sample grids or checkpoints to configure."""
        parser = bare_parser(prog, description)
        add_data_flags(parser)
        add_training_flags(parser)
        add_out_flags(parser)
        return parser

    def add_flags(self, parser: argparse.ArgumentParser) -> None:
        critic = parser.add_argument_group("critic pretraining")
        critic.add_argument("--steps", type=positive_int, help="train for N steps (rounded up to whole epochs)")
        critic.add_argument(
            "--filters", type=positive_int, help="critic width; must match train_wgan_gp.py's (default: 128)"
        )
        critic.add_argument(
            "--adversarial", action="store_true", help="also train the score head against an untrained generator"
        )
        critic.add_argument(
            "--gp-weight", type=positive_float, help="gradient penalty weight with --adversarial (default: 10)"
        )
        critic.add_argument(
            "--val-fraction",
            type=open_fraction,
            help="held-out fraction when the data has no validation split (default: 0.1)",
        )

    def dataset_defaults(self, dataset: str) -> dict:
        """The batch of the WikiArt WGAN-GP it prepares a critic for."""
        return {"batch_size": PAPER_WIKIART["batch_size"]} if dataset == "wikiart" else {}

    def split(self, settings, splits):
        """WikiArt's own style_val.csv when present, else a held-out fraction of the training images."""
        from data import Splits

        if splits.validation is not None:
            log.info("validation: %d images of style_val.csv", len(splits.validation.labels))
            return splits
        fraction = settings.optimisation.val_fraction
        train, validation = splits.train.split(fraction, settings.run.seed)
        log.info("validation: %d held-out images (%.0f%%)", len(validation.labels), 100 * fraction)
        return Splits.holding(splits.settings, train, validation)

    def training_length(self, settings, steps_per_epoch: int) -> tuple[int, int]:
        """``--steps N``: epochs of at most N steps, as many as N steps take."""
        steps = settings.optimisation.steps
        if not steps:
            return steps_per_epoch, settings.optimisation.epochs
        steps_per_epoch = min(steps_per_epoch, steps)
        return steps_per_epoch, math.ceil(steps / steps_per_epoch)

    def build(self, settings, image_shape, class_names):
        from models.trainers import CriticPretrainer
        from models.wgan_gp import build_wgan_critic, build_wgan_generator

        networks, num_classes = settings.networks, len(class_names)
        critic = build_wgan_critic(image_shape, num_classes, networks.filters)
        generator = None
        if networks.adversarial:
            generator = build_wgan_generator(image_shape, num_classes, networks.latent_dim, networks.filters)
        return CriticPretrainer(
            critic, generator, networks.latent_dim, settings.losses.gp_weight, seed=settings.run.seed
        )

    def compile(self, trainer, settings, record) -> None:
        from training.devices import resolve_jit
        from training.optimizers import adam

        updates, devices = record.epochs_actual * record.steps_per_epoch_actual, settings.devices
        trainer.compile(
            optimizer=adam(settings.optimisation, devices.policy, updates),
            jit_compile=resolve_jit(devices.jit, self.xla_on_one_gpu, devices.strategy),
        )

    def callbacks(self, context) -> list:
        """log.csv and critic_pretrained.h5, every epoch."""
        if not context.chief:
            return []
        from training.callbacks import EpochLog, SavePretrainedCritic

        run_dir = context.run_dir
        return [EpochLog(run_dir.log_csv), SavePretrainedCritic(run_dir.root / PRETRAINED_NAME)]

    def fit_options(self, context) -> dict:
        """The style accuracy on the validation images, every epoch."""
        from data import evaluation_dataset

        validation = context.splits.validation
        images = evaluation_dataset(
            validation.source, validation.labels, validation.num_classes, context.settings.optimisation.batch_size
        )
        return {"validation_data": images}

    def finish(self, context, history) -> None:
        log.info(
            "validation style accuracy %.3f (chance %.3f); critic saved to %s",
            history.history["val_style_acc"][-1],
            1 / len(context.record.class_names),
            Path(context.run_dir.root) / PRETRAINED_NAME,
        )


RECIPE = CriticPretrainingRecipe()
