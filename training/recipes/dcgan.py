"""The paper's conditional DC-GAN (validity BCE + class cross-entropy): settings, flags, policy, trainer."""

from __future__ import annotations

import argparse
import logging

from base.choices import UPSAMPLINGS
from training.cli import add_projection_flag
from training.recipes.gan import GANRecipe, gan_sections
from training.settings import (
    PAPER_WIKIART,
    DCGANLosses,
    DCGANNetworks,
    DCGANOptimisation,
)

DESCRIPTION = """Train the paper's conditional DC-GAN (validity BCE + class cross-entropy).

Examples:
  python train_dcgan.py --dataset digits --epochs 5
  python train_dcgan.py --dataset mnist --data-dir ~/data/mnist
  python train_dcgan.py --dataset wikiart --data-dir ~/data/wikiart --top-styles 9
  python train_dcgan.py --resume --out runs/train_dcgan-mnist-20261122-101500 --epochs 50
  python train_dcgan.py --dataset folder --data-dir ~/my-paintings --init-from runs/train_dcgan-wikiart-X \\
      --augment color,translation,cutout --augment-p ada
"""

# From this side the transposed generator's lattice shows and nearest doubling measured better on WikiArt
# (BENCHMARKS.md, "The DC-GAN with nearest-neighbour up-sampling (now its default from 64 px)").
NEAREST_FROM_SIZE = 64


class DCGANRecipe(GANRecipe):
    script = "train_dcgan"
    description = DESCRIPTION
    section_classes = gan_sections(DCGANNetworks, DCGANLosses, DCGANOptimisation)
    xla_on_one_gpu = True  # its step compiles quickly, the WGAN-GP's does not (BENCHMARKS.md, "GPU readiness")

    def add_flags(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--class-weight", type=float, help="weight of the class cross-entropy terms (default: 1)")
        add_projection_flag(parser)
        parser.add_argument(
            "--upsampling",
            choices=UPSAMPLINGS,
            help="how the generator doubles its side: 'transposed' 4x4 stride-2 transposed convolutions (the "
            "paper's; default under 64 px without --augment); 'nearest' nearest-neighbour doubling and a 3x3 "
            "convolution, free of the pixel lattice the transposed kernels stamp at 64 px and that --augment lets "
            "grow (default from 64 px and with --augment)",
        )

    def dataset_defaults(self, dataset: str) -> dict:
        """The paper's WikiArt batch of 32 and 100 epochs."""
        return dict(PAPER_WIKIART) if dataset == "wikiart" else {}

    def derive(self, values: dict) -> dict:
        """From 64 px, or under --augment, the generator doubles by nearest neighbour unless told otherwise.

        At 64 px the paper's four transposed convolutions stamp a lattice of
        periods 2 to 16 on every sample from the first step, and DiffAugment's
        translation lets it grow into blocky tiles (BENCHMARKS.md, "WikiArt at
        64 px: the lattice, and what caused it" and "Small collections at 64 px:
        what made the blocky patches under augmentation"); below 64 px, where
        every MNIST and CIFAR-10 figure was measured, the paper's network stays
        the default.
        """
        if values.get("upsampling"):
            return {}
        nearest = values.get("augment") or values["image_size"] >= NEAREST_FROM_SIZE
        return {"upsampling": "nearest" if nearest else "transposed"}

    def check(self, values: dict) -> None:
        """Not an error, but a run to warn about: a transposed generator's lattice grows under --augment."""
        if values.get("init_from") and values.get("augment") and values["upsampling"] == "transposed":
            logging.getLogger("artgan").warning(
                "--init-from: the source generator doubles by transposed convolutions, whose pixel lattice "
                "--augment lets grow (BENCHMARKS.md); a source trained with --upsampling nearest avoids it"
            )

    def build(self, settings, image_shape, class_names):
        from models.dcgan import build_dcgan_discriminator, build_dcgan_generator
        from models.trainers import ConditionalDCGAN
        from training.init_from import start_networks

        num_classes = len(class_names)
        networks, augmentation = settings.networks, settings.augmentation
        generator = build_dcgan_generator(image_shape, num_classes, networks.latent_dim, upsampling=networks.upsampling)
        discriminator = build_dcgan_discriminator(image_shape, num_classes)
        start_networks(generator, discriminator, networks, class_names, settings.run.resume)
        return ConditionalDCGAN(
            generator,
            discriminator,
            networks.latent_dim,
            settings.losses.class_weight,
            settings.losses.projection,
            **self.gan_arguments(settings),
            ada_target=augmentation.ada_target,
            ada_images=augmentation.ada_images,
        )


RECIPE = DCGANRecipe()
