"""Recipes: what one experiment is (its settings, its flags, its policy, its trainer), as library code.

A training script is a recipe's ``main``; benches and tests resolve
settings and build trainers through the same recipe, so none of them can
train something the scripts would not. ``Recipe.resolve`` is the one place
settings are decided, in this order:

1. each section's defaults (``training/settings.py``, with their sources),
2. the paper's settings for the dataset (``dataset_defaults``),
3. the network settings of the run ``--init-from`` starts from,
4. the values requested (flags, or a bench's keywords),
5. the options that follow from others (``derive``: the recipe's policy),
6. one validator, whose errors are one line each (``UserError``).

A resumed run instead reads its ``config.json`` once and accepts changes
only to its length and bookkeeping (``RESUMABLE_CHANGES``). No TensorFlow
is imported here: ``--help`` and flag errors stay instant.
"""

from __future__ import annotations

import argparse
import os
import secrets
from dataclasses import fields

from base.choices import ADAPTIVE, check_image_size
from base.errors import UserError
from base.rundir import RunDirectory, default_out
from base.terminal import start_tensorflow_quietly
from data.sources import DATASETS, DEFAULT_IMAGE_SIZE, check_top_styles, flipped_by_default
from training.settings import (
    SECTIONS,
    DataRecord,
    Settings,
    as_json,
    config_values,
    field_names,
    section_defaults,
)

# Settings that a resumed run may change; every other one comes from config.json.
RESUMABLE_CHANGES = (
    "epochs",
    "resume",
    "out",
    "quiet",
    "keep",
    "checkpoint_every",
    "tensorboard",
    "strategy",
    "mixed_precision",
    "jit",
    "steps_per_execution",
)
RESOLVED_ONLY = {"init_weights"}  # fields no flag sets: the validator fills them


class Recipe:
    """An experiment: subclasses name their sections and script, and supply flags, policy and trainer."""

    script: str  # the script's name: run directories are <script>-<dataset>-<time>
    description: str  # --help's text
    section_classes: dict[str, type | None]  # one class per section of training.settings.SECTIONS
    xla_on_one_gpu = False  # --jit's default on one GPU (BENCHMARKS.md, "GPU readiness": from compile times)

    # ---------------------------------------------------------------- flags

    def parser(self) -> argparse.ArgumentParser:
        parser = self.make_parser(self.script + ".py", self.description)
        self.add_flags(parser)
        check_flags_match_fields(parser, self.section_classes)
        return parser

    def make_parser(self, prog: str, description: str) -> argparse.ArgumentParser:
        raise NotImplementedError

    def add_flags(self, parser: argparse.ArgumentParser) -> None:
        """The recipe's own flags, beyond those of make_parser."""

    # ---------------------------------------------------------------- settings

    def dataset_defaults(self, dataset: str) -> dict:
        """The paper's settings for ``dataset`` where they differ from the sections' defaults."""
        return {}

    def derive(self, values: dict) -> dict:
        """Options that follow from others unless given (the recipe's policy); returns the changes."""
        return {}

    def check(self, values: dict) -> None:
        """The recipe's own combinations of options that cannot work; raise UserError."""

    def settings_from_flags(self, argv=None) -> tuple[Settings, DataRecord | None]:
        """``(settings, what a resumed run's data held)`` from command-line arguments."""
        return self.resolve(vars(self.parser().parse_args(argv)))

    def settings(self, dataset: str, **requested) -> Settings:
        """The settings of a new run on ``dataset`` with ``requested`` fields (by name) as if set by flags."""
        settings, _ = self.resolve({"dataset": dataset, **requested})
        return settings

    def resolve(self, requested: dict) -> tuple[Settings, DataRecord | None]:
        """``requested``: fields by name, from flags (those left out absent) or a bench's keywords."""
        requested = plain_precision(requested)
        if requested.get("resume"):
            return self.resumed(requested)
        if "dataset" not in requested:
            raise UserError("--dataset is required (one of " + ", ".join(DATASETS) + ")")
        unknown = set(requested) - self.field_names()
        if unknown:
            raise TypeError(f"{self.script} has no settings {', '.join(sorted(unknown))}")
        if requested.get("strategy") == "multiworker":
            missing = [flag for flag, key in (("--seed", "seed"), ("--out", "out")) if requested.get(key) is None]
            if missing:
                raise UserError(
                    f"--strategy multiworker needs {' and '.join(missing)}: every worker must agree on them"
                )
        values = self.defaults()
        values.update(self.dataset_defaults(requested["dataset"]))
        if requested.get("init_from"):
            values.update(init_settings(requested))
        values.update({key: value for key, value in requested.items() if value is not None or key in NULLABLE})
        values.update(self.derive_common(values))
        values.update(self.derive(values))
        self.check_common(values)
        self.check(values)
        return self.build_settings(values), None

    def resumed(self, requested: dict) -> tuple[Settings, DataRecord | None]:
        """The run's settings from its config.json, read once; a setting it may not change is refused in one line."""
        if not requested.get("out"):
            raise UserError("--resume needs --out, the run directory to continue")
        run = RunDirectory(requested["out"])
        if not run.config.is_file():
            raise UserError(f"--resume: {run.root} has no config.json; is it a run directory?")
        config = run.read_config()
        if config.get("script", self.script) != self.script:
            raise UserError(f"--resume: {run.root} is a {config['script']}.py run; resume it with that script")
        for key in sorted(set(requested) - set(RESUMABLE_CHANGES)):
            if key in config and config[key] != as_json(requested[key]):
                raise UserError(
                    f"--{key.replace('_', '-')} {requested[key]} differs from the run's {config[key]}; a resumed "
                    "run keeps its settings (only --epochs, the bookkeeping and the device flags may change)"
                )
        values = self.defaults()
        for section_class in self.section_classes.values():
            if section_class is not None:
                values.update(config_values(config, section_class))
        values.update({key: requested[key] for key in RESUMABLE_CHANGES if key in requested})
        values["resume"] = True
        values.update(self.derive(values))  # runs from before a derived option: what they did
        check_devices(values)
        return self.build_settings(values), DataRecord.from_config(config)

    def defaults(self) -> dict:
        values = {}
        for section_class in self.section_classes.values():
            if section_class is not None:
                values.update(section_defaults(section_class))
        return values

    def field_names(self) -> set[str]:
        return set().union(*(field_names(c) for c in self.section_classes.values() if c is not None))

    def derive_common(self, values: dict) -> dict:
        """Image size and flips from the dataset, a seed drawn once, the run directory's default name."""
        derived = {}
        if values.get("image_size") is None:
            derived["image_size"] = DEFAULT_IMAGE_SIZE[values["dataset"]]
        if values.get("flip") is None:
            derived["flip"] = flipped_by_default(values["dataset"])
        if values.get("seed") is None:
            derived["seed"] = secrets.randbelow(2**31)
        if not values.get("out"):
            derived["out"] = default_out(self.script, values["dataset"])
        return derived

    def check_common(self, values: dict) -> None:
        check_image_size(values["image_size"])
        check_top_styles(values["dataset"], values.get("top_styles"))
        if values.get("data_dir") is not None and not os.path.isdir(values["data_dir"]):
            raise UserError(f"--data-dir {values['data_dir']} is not a directory")
        if values.get("freeze_critic") and not (values.get("init_from") or values.get("critic_weights")):
            raise UserError("--freeze-critic keeps trained blocks fixed: it needs --init-from (or --critic-weights)")
        if values.get("augment_p") == ADAPTIVE and not values.get("augment"):
            raise UserError(
                "--augment-p ada adapts the probability of --augment's transforms: give --augment POLICY too"
            )
        for flag, key in (("--inception-weights", "inception_weights"), ("--fid-stats", "fid_stats")):
            if values.get(key) is not None and not os.path.isfile(values[key]):
                raise UserError(f"{flag} {values[key]} is not a file")
        if (values.get("inception_weights") or values.get("fid_stats")) and not values.get("eval_every"):
            raise UserError("--inception-weights and --fid-stats take effect with --eval-every N only")
        check_devices(values)

    def build_settings(self, values: dict) -> Settings:
        sections = {}
        for name in SECTIONS:
            section_class = self.section_classes[name]
            if section_class is not None:
                sections[name] = section_class(**{f.name: frozen(values[f.name]) for f in fields(section_class)})
            else:
                sections[name] = None
        return Settings(script=self.script, **sections)

    # ---------------------------------------------------------------- trainer and run

    def build(self, settings: Settings, image_shape, class_names):
        """The trainer with its networks, not yet compiled: its ``real_batches_per_step`` sizes the data."""
        raise NotImplementedError

    def split(self, settings: Settings, splits):
        """The ``data.Splits`` to train on (``train``) and to validate or measure with (``validation``)."""
        return splits

    def training_length(self, settings: Settings, steps_per_epoch: int) -> tuple[int, int]:
        """``(steps per epoch, epochs)`` once the data's full steps per epoch are known."""
        return steps_per_epoch, settings.optimisation.epochs

    def compile(self, trainer, settings: Settings, record: DataRecord) -> None:
        raise NotImplementedError

    # Hooks once the trainer is compiled and restored: each reads the run from one frozen RunContext.

    def callbacks(self, context) -> list:
        """``fit``'s callbacks: what the run writes besides its config.json (``training.context.RunContext``)."""
        return []

    def fit_options(self, context) -> dict:
        """Further arguments of ``fit`` (validation data)."""
        return {}

    def finish(self, context, history) -> None:
        """What to say once training ends."""

    def build_trainer(self, settings: Settings, image_shape, num_classes: int, steps_per_epoch: int = 1000):
        """A compiled trainer for benches and tests (``steps_per_epoch`` only shapes a decaying learning rate)."""
        names = tuple(map(str, range(num_classes)))
        trainer = self.build(settings, tuple(image_shape), names)
        record = DataRecord(tuple(image_shape), names, 0, steps_per_epoch, settings.optimisation.epochs)
        self.compile(trainer, settings, record)
        return trainer

    def main(self, argv=None):
        """Train from command-line arguments; TensorFlow loads here, after the flags are checked."""
        settings, earlier = self.settings_from_flags(argv)
        start_tensorflow_quietly()
        from training.runner import run

        return run(self, settings, earlier)


def plain_precision(requested: dict) -> dict:
    """``--mixed-precision float32`` is the default spelled out: a resumed run's way back from mixed precision."""
    return {**requested, "mixed_precision": None} if requested.get("mixed_precision") == "float32" else requested


def check_devices(values: dict) -> None:
    """The device flags' combinations that cannot work, for a new run and a resumed one alike.

    Both fail mid-fit in Keras 3.15 over several replicas (tests/test_distribution.py
    checks that they still do): XLA cannot reach the other replicas' variables,
    and a call of several steps loses its iterator's placeholders.
    """
    strategy = values.get("strategy", "default")
    if strategy == "default":
        return
    if values.get("jit") is True:
        raise UserError(
            f"--jit compiles one device's step with XLA; with --strategy {strategy} the step spans replicas, "
            "whose variables XLA cannot reach (it fails mid-fit): leave out --jit"
        )
    if (values.get("steps_per_execution") or 1) > 1:
        raise UserError(
            f"--steps-per-execution {values['steps_per_execution']} with --strategy {strategy}: Keras runs one step "
            "per call over several replicas (more fail mid-fit); leave it out"
        )


NULLABLE = {"mixed_precision", "fake_class_loss", "upsampling"}  # a bench may give None to mean "the default"


def frozen(value):
    """Lists (from flags or JSON) as tuples, so that settings cannot be changed through them."""
    return tuple(value) if isinstance(value, list) else value


def init_settings(requested: dict) -> dict:
    """``--init-from``'s files located now (one line if wrong), and the source run's network settings."""
    from training.init_from import locate

    source = locate(list(requested["init_from"]))
    return {"init_weights": source, **source["settings"]}


def check_flags_match_fields(parser: argparse.ArgumentParser, section_classes: dict) -> None:
    """Every flag sets a field and every field but the resolved ones has a flag: they cannot drift apart."""
    flags = {action.dest for action in parser._actions if action.dest != "help"}
    names = set().union(*(field_names(c) for c in section_classes.values() if c is not None))
    if flags - names or names - flags - RESOLVED_ONLY:
        unflagged = sorted(names - flags - RESOLVED_ONLY)
        raise AssertionError(f"flags without a field: {sorted(flags - names)}; fields without a flag: {unflagged}")
