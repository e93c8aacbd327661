#!/usr/bin/env python
"""Train the paper's conditional DC-GAN (validity BCE + class cross-entropy): `python train_dcgan.py --help`.

The experiment is the library's recipe, training/recipes/dcgan.py; this
script only hands it the command line.
"""

from training.cli import run_cli
from training.recipes.dcgan import RECIPE


def main(argv=None):
    RECIPE.main(argv)


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
