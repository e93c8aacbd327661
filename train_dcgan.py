#!/usr/bin/env python
"""Train the paper's conditional DC-GAN (validity BCE + class cross-entropy).

Examples:
  python train_dcgan.py --dataset digits --epochs 5
  python train_dcgan.py --dataset mnist --data-dir ~/data/mnist
  python train_dcgan.py --dataset wikiart --data-dir ~/data/wikiart --top-styles 9
  python train_dcgan.py --resume --out runs/train_dcgan-mnist-20261122-101500 --epochs 50
  python train_dcgan.py --dataset folder --data-dir ~/my-paintings --init-from runs/train_dcgan-wikiart-X \
      --augment color,translation,cutout --augment-p ada
"""

import argparse

from base.choices import DEFAULT_IMAGE_SIZE, UPSAMPLINGS
from training.cli import run_cli
from training.recipe import Recipe

SCRIPT = "train_dcgan"


def paper_defaults(dataset: str) -> dict:
    """DCGAN settings from the paper: Adam 2e-4, beta1 0.5; batch 64 (32 for WikiArt)."""
    return {
        "batch_size": 32 if dataset == "wikiart" else 64,
        "epochs": 100 if dataset == "wikiart" else 25,
        "lr": 2e-4,
        "beta1": 0.5,
        "beta2": 0.999,
        "class_weight": 1.0,
    }


def build_trainer(config: dict, image_shape, num_classes: int):
    from models.dcgan import build_dcgan_discriminator, build_dcgan_generator
    from models.trainers import ConditionalDCGAN
    from training.optimizers import adam
    from training.transfer import start_networks

    upsampling = config.get("upsampling", "transposed")  # runs from before the flag have no entry
    generator = build_dcgan_generator(image_shape, num_classes, config["latent_dim"], upsampling=upsampling)
    discriminator = build_dcgan_discriminator(image_shape, num_classes)
    start_networks(generator, discriminator, config)
    trainer = ConditionalDCGAN(
        generator,
        discriminator,
        config["latent_dim"],
        config["class_weight"],
        seed=config["seed"],
        mix_fraction=config.get("mix_fraction", 0.0),  # runs from before the flag have no entry
        ema_decay=config.get("ema_decay", 0.0),
        augment_policy=config.get("augment") or (),  # runs from before the flag have no entry
        augment_p=config.get("augment_p", 1.0),
        ada_target=config.get("ada_target", 0.6),
        ada_images=config.get("ada_images", 20000),
    )
    trainer.compile(g_optimizer=adam(config), d_optimizer=adam(config), jit_compile=config["jit"])
    return trainer


def add_dcgan_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--class-weight", type=float, help="weight of the class cross-entropy terms (default: 1)")
    parser.add_argument(
        "--upsampling",
        choices=UPSAMPLINGS,
        help="how the generator doubles its side: 'transposed' 4x4 stride-2 transposed convolutions (the paper's; "
        "default under 64 px without --augment); 'nearest' nearest-neighbour doubling and a 3x3 convolution, free of "
        "the pixel lattice the transposed kernels stamp at 64 px and that --augment lets grow (default from 64 px "
        "and with --augment)",
    )


NEAREST_FROM_SIZE = 64  # WikiArt 64 px: transposed lattice 15, Frechet 10.6x; nearest 2.0, 5.6x (BENCHMARKS.md)


def settle(config: dict) -> dict:
    """From 64 px, or under --augment, the generator doubles by nearest neighbour unless told otherwise.

    At 64 px the paper's four transposed convolutions stamp a lattice of
    periods 2 to 16 on every sample from the first step, and DiffAugment's
    translation lets it grow into blocky tiles (BENCHMARKS.md); below 64 px,
    where every MNIST and CIFAR-10 figure was measured, the paper's network
    stays the default.
    """
    if not config.get("upsampling") and config.get("dataset"):  # a resumed run keeps its own
        size = config.get("image_size") or DEFAULT_IMAGE_SIZE[config["dataset"]]
        nearest = config.get("augment") or size >= NEAREST_FROM_SIZE
        config["upsampling"] = "nearest" if nearest else "transposed"
    return config


RECIPE = Recipe(SCRIPT, __doc__, paper_defaults, add_dcgan_flags, build_trainer, settle)


def main(argv=None):
    RECIPE.main(argv)


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
