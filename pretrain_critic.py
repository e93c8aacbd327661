#!/usr/bin/env python
"""Pretrain the WGAN-GP critic on real images before adversarial training (GANGogh).

The critic's class head learns the style labels; with --adversarial its score
head also learns real against an untrained generator, under the gradient
penalty. Style accuracy on a validation split (WikiArt's style_val.csv, else a
held-out fraction) is reported every epoch. The result, critic_pretrained.h5,
starts a WGAN-GP run:

  python pretrain_critic.py --dataset wikiart --data-dir ~/data/wikiart --epochs 5 --out runs/critic
  python train_wgan_gp.py --dataset wikiart --data-dir ~/data/wikiart --critic-weights runs/critic/critic_pretrained.h5
"""

import argparse

from training.cli import (
    add_data_flags,
    add_out_flags,
    add_training_flags,
    bare_parser,
    open_fraction,
    positive_float,
    positive_int,
    run_cli,
)
from training.recipe import Recipe

SCRIPT = "pretrain_critic"


def defaults(dataset: str) -> dict:
    """The WGAN-GP critic's optimizer (Adam 1e-4, beta1 0, beta2 0.9) and its 128 filters."""
    return {
        "batch_size": 32 if dataset == "wikiart" else 64,
        "epochs": 10,
        "steps": None,
        "lr": 1e-4,
        "beta1": 0.0,
        "beta2": 0.9,
        "filters": 128,
        "adversarial": False,
        "gp_weight": 10.0,
        "val_fraction": 0.1,
    }


def pretraining_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """Data, training and output flags: no sample grids or checkpoints to configure."""
    parser = bare_parser(prog, description)
    add_data_flags(parser)
    add_training_flags(parser)
    add_out_flags(parser)
    return parser


def add_pretraining_flags(parser: argparse.ArgumentParser) -> None:
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


def build_pretrainer(config: dict, image_shape, num_classes: int):
    from training.pretraining import build_pretrainer as build

    return build(config, image_shape, num_classes)


RECIPE = Recipe(
    SCRIPT, __doc__, defaults, add_pretraining_flags, build_pretrainer, make_parser=pretraining_parser,
    runner="pretraining",
)  # fmt: skip


def main(argv=None):
    RECIPE.main(argv)


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
