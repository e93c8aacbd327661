#!/usr/bin/env python
"""Pretrain the WGAN-GP critic on real images before adversarial training (GANGogh): `python pretrain_critic.py --help`.

The experiment is the library's recipe, training/recipes/critic_pretraining.py; this
script only hands it the command line.
"""

from training.cli import run_cli
from training.recipes.critic_pretraining import RECIPE


def main(argv=None):
    RECIPE.main(argv)


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
