"""One experiment from config to run directory; the scripts only choose the trainer.

flags -> config.json -> data -> trainer -> ``fit`` with callbacks -> files.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import sys
import time
from pathlib import Path

import keras

from data import DataError, LabelledImages, load_images, steps_per_epoch, training_dataset
from evaluation.callback import evaluation_callbacks
from sampling import fixed_noise, mixing_matrix, save_grid
from training.callbacks import Checkpoint, EpochLog, SampleGrid
from training.checkpoints import complete_epochs, restore_checkpoint
from training.cli import merge_resumed

log = logging.getLogger("artgan")

DEFAULT_CACHE = Path.home() / ".cache" / "artgan"


class RunDirectory:
    """The on-disk layout of a run; notebooks and sample.py start from here alone."""

    def __init__(self, root):
        self.root = Path(root)
        self.config = self.root / "config.json"
        self.log_csv = self.root / "log.csv"
        self.train_log = self.root / "train.log"
        self.samples = self.root / "samples"
        self.checkpoints = self.root / "checkpoints"
        self.mixing_matrix = self.root / "mixing_matrix.png"
        self.metrics = self.root / "metrics.json"

    def read_config(self) -> dict:
        return json.loads(self.config.read_text())

    def write_config(self, config: dict) -> None:
        tmp = self.config.with_name("config.json.tmp")
        tmp.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, self.config)


def default_out(script: str, dataset: str) -> str:
    return str(Path("runs") / f"{script}-{dataset}-{time.strftime('%Y%m%d-%H%M%S')}")


def prepare_run(config: dict, given: set, script: str) -> tuple[RunDirectory, dict]:
    """Create or reopen the run directory and settle the config (seed drawn once, then kept)."""
    if config.get("resume"):
        run = RunDirectory(config["out"])
        if not run.config.is_file():
            raise DataError(f"--resume: {run.root} has no config.json; is it a run directory?")
        config = merge_resumed(run.read_config(), config, given)
    else:
        config["out"] = config.get("out") or default_out(script, config["dataset"])
        run = RunDirectory(config["out"])
        if run.config.is_file():
            raise DataError(f"{run.root} already holds a run; pass --resume to continue it or choose another --out")
        config["seed"] = config["seed"] if config.get("seed") is not None else secrets.randbelow(2**31)
        config["script"] = script
    try:
        run.root.mkdir(parents=True, exist_ok=True)
        probe = run.root / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise DataError(f"cannot write to the run directory {run.root}: {error.strerror}") from None
    return run, config


def attach_log_file(run: RunDirectory) -> None:
    handler = logging.FileHandler(run.train_log, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)


def load_training_images(config: dict) -> LabelledImages:
    return load_images(
        config["dataset"],
        config["data_dir"],
        config["image_size"],
        config["resize"],
        config["top_styles"],
        "train",
        config["cache_dir"] or str(DEFAULT_CACHE),
        progress=not config["quiet"],
    )


def describe_data(config: dict, data: LabelledImages, stored: dict | None) -> dict:
    """Record what the data turned out to be; a resumed run must see the same classes and shape."""
    shape = list(data.image_shape)
    if stored is not None and (stored.get("class_names") != data.class_names or stored.get("image_shape") != shape):
        raise DataError(
            f"the data now has classes {data.class_names} and shape {shape}, the run was trained on "
            f"{stored.get('class_names')} and {stored.get('image_shape')}"
        )
    config["image_size"] = shape[0]
    config["class_names"] = data.class_names
    config["image_shape"] = shape
    config["num_images"] = int(len(data.labels))
    config["flip"] = config["dataset"] == "wikiart" if config["flip"] is None else config["flip"]
    config["steps_per_epoch_actual"] = steps_per_epoch(
        len(data.labels), config["batch_size"], config["steps_per_epoch"]
    )
    return config


def resume_point(trainer, run: RunDirectory, config: dict) -> int:
    if not config.get("resume"):
        return 0
    epochs = complete_epochs(run.checkpoints)
    if not epochs:
        log.info("no complete checkpoint in %s yet: starting at epoch 1", run.checkpoints)
        return 0
    restore_checkpoint(trainer, run.checkpoints, epochs[-1])
    log.info("resumed from the checkpoint of epoch %d", epochs[-1])
    return epochs[-1]


def write_mixing_matrix(generator, config: dict, run: RunDirectory) -> None:
    names = config["class_names"]
    noise = fixed_noise(config["seed"], len(names), config["latent_dim"])
    images = mixing_matrix(generator, list(range(len(names))), noise, len(names))
    save_grid(images, run.mixing_matrix, names, names, title="mixing matrix: (e_i + e_j) / 2")


def run_experiment(config: dict, given: set, script: str, build_trainer) -> RunDirectory:
    """Train ``build_trainer(config, image_shape, num_classes)`` and write the run directory."""
    run, config = prepare_run(config, given, script)
    attach_log_file(run)
    stored = run.read_config() if config.get("resume") else None
    data = load_training_images(config)
    config = describe_data(config, data, stored)
    keras.utils.set_random_seed(config["seed"])
    trainer = build_trainer(config, tuple(config["image_shape"]), len(config["class_names"]))
    start = resume_point(trainer, run, config)
    run.write_config(config)
    epochs, steps = config["epochs"], config["steps_per_epoch_actual"]
    log.info(
        "run directory %s; epochs %d..%d of %d steps (batch %d)",
        run.root,
        start + 1,
        epochs,
        steps,
        config["batch_size"],
    )
    if start < epochs:
        stream = training_dataset(
            data.images,
            data.labels,
            data.num_classes,
            config["batch_size"],
            config["seed"],
            config["flip"],
            start,
            epochs,
            steps,
        )
        noise = fixed_noise(config["seed"], config["sample_columns"], config["latent_dim"])
        callbacks = [
            *evaluation_callbacks(config, data, config["cache_dir"] or DEFAULT_CACHE),  # first: figures join the row
            EpochLog(run.log_csv, resume_epoch=start),
            SampleGrid(run.samples, noise, config["class_names"]),
            Checkpoint(run.checkpoints),
        ]
        verbose = 2 if config["quiet"] or not sys.stdout.isatty() else 1
        trainer.fit(
            stream,
            epochs=epochs,
            initial_epoch=start,
            steps_per_epoch=steps,
            callbacks=callbacks,
            verbose=verbose,
            shuffle=False,
        )
    else:
        log.info("the run already has %d epochs; pass a larger --epochs to train more", start)
    write_mixing_matrix(trainer.generator, config, run)
    log.info("done: %s", run.root)
    return run
