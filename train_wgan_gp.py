#!/usr/bin/env python
"""Train the paper's conditional WGAN-GP (layer-normalised residual critic, gradient penalty).

`python train_wgan_gp.py --help` lists the flags.

The experiment is the library's recipe, training/recipes/wgan_gp.py; this
script only hands it the command line.
"""

from training.cli import run_cli
from training.recipes.wgan_gp import RECIPE


def main(argv=None):
    RECIPE.main(argv)


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
