"""One typed recipe per experiment: its defaults, its flags, the options it settles and its trainer.

The training scripts, the benches and the tests all turn flags into a config
through ``Recipe.config``, so none of them can train something the scripts
would not: an option that depends on others (the WGAN-GP's fake-class loss
under ``--creative``) is settled in one place, before the config is written.
TensorFlow is not imported here: ``--help`` and flag errors stay instant.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

from training.cli import build_parser, parse_config


def no_settling(config: dict) -> dict:
    return config


@dataclass(frozen=True)
class Recipe:
    script: str  # the script's name: run directories are <script>-<dataset>-<time>
    description: str  # --help's text
    paper_defaults: Callable[[str], dict]  # the paper's settings for a dataset
    add_flags: Callable[[argparse.ArgumentParser], None]  # the flags beyond the common ones
    build_trainer: Callable  # (config, image_shape, num_classes) -> a compiled trainer
    settle: Callable[[dict], dict] = no_settling  # options that follow from others; may raise UserError
    make_parser: Callable[[str, str], argparse.ArgumentParser] = build_parser  # the common flags
    runner: str = "experiment"  # "experiment" (a GAN) or "pretraining" (the critic alone)

    def parser(self) -> argparse.ArgumentParser:
        parser = self.make_parser(self.script + ".py", self.description)
        self.add_flags(parser)
        return parser

    def config(self, argv=None) -> tuple[dict, set]:
        """``(settled config, the keys given as flags)`` from command-line arguments."""
        config, given = parse_config(self.parser(), argv, self.paper_defaults)
        return self.settle(config), given

    def defaults(self, dataset: str, **settings) -> dict:
        """The config a run on ``dataset`` gets without flags, updated by ``settings`` and then settled."""
        config, _ = parse_config(self.parser(), ["--dataset", dataset], self.paper_defaults)
        config.update(settings)
        return self.settle(config)

    def train(self, config: dict, given: set):
        """Run the experiment; TensorFlow loads here, after the flags are checked."""
        if self.runner == "pretraining":
            from training.pretraining import run_pretraining

            return run_pretraining(config, given, self.script)
        from training.experiment import run_experiment

        return run_experiment(config, given, self.script, self.build_trainer)

    def main(self, argv=None):
        return self.train(*self.config(argv))
