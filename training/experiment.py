"""One experiment from config to run directory; the scripts only choose the trainer.

flags -> config.json -> data -> trainer -> ``fit`` with callbacks -> files.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import sys

import keras

from base.errors import UserError
from base.rundir import DEFAULT_CACHE, Position, RunDirectory, complete_checkpoints, default_out, remove_partial_files
from data import LabelledImages, load_images, steps_per_epoch, training_dataset
from evaluation.callback import evaluation_callbacks
from sampling import fixed_noise
from training.callbacks import Checkpoint, DivergenceGuard, EpochLog, MixingMatrix, SampleGrid, tensorboard_callbacks
from training.checkpoints import restore_checkpoint
from training.cli import images_per_step, merge_resumed, precision_policy
from training.devices import check_batch_split, describe, is_chief, make_strategy, set_precision
from training.transfer import carried_classes

log = logging.getLogger("artgan")


def prepare_run(config: dict, given: set, script: str, writer: bool = True) -> tuple[RunDirectory, dict]:
    """Create or reopen the run directory and settle the config (seed drawn once, then kept).

    Only the ``writer`` (the chief of a multi-worker run) creates anything; the
    other workers read the same directory, for instance to resume.
    """
    if config.get("resume"):
        run = RunDirectory(config["out"])
        if not run.config.is_file():
            raise UserError(f"--resume: {run.root} has no config.json; is it a run directory?")
        config = merge_resumed(run.read_config(), config, given)
    else:
        config["out"] = config.get("out") or default_out(script, config["dataset"])
        run = RunDirectory(config["out"])
        if writer and run.config.is_file():
            raise UserError(f"{run.root} already holds a run; pass --resume to continue it or choose another --out")
        config["seed"] = config["seed"] if config.get("seed") is not None else secrets.randbelow(2**31)
        config["script"] = script
    if not writer:
        return run, config
    try:
        run.root.mkdir(parents=True, exist_ok=True)
        probe = run.root / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise UserError(f"cannot write to the run directory {run.root}: {error.strerror}") from None
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
        raise UserError(
            f"the data now has classes {data.class_names} and shape {shape}, the run was trained on "
            f"{stored.get('class_names')} and {stored.get('image_shape')}"
        )
    config["image_size"] = shape[0]
    config["class_names"] = data.class_names
    config["image_shape"] = shape
    config["num_images"] = int(len(data.labels))
    config["flip"] = config["dataset"] == "wikiart" if config["flip"] is None else config["flip"]
    config["steps_per_epoch_actual"] = steps_per_epoch(
        len(data.labels), images_per_step(config), config["steps_per_epoch"]
    )
    return config


def resume_point(trainer, run: RunDirectory, config: dict) -> Position:
    """Restore the newest complete checkpoint of a resumed run; a new run starts at the beginning."""
    if not config.get("resume"):
        return Position(0)
    remove_partial_files(run.checkpoints)
    positions = complete_checkpoints(run.checkpoints)
    if not positions:
        log.info("no complete checkpoint in %s yet: starting at epoch 1", run.checkpoints)
        return Position(0)
    restore_checkpoint(trainer, run.checkpoints, positions[-1])
    log.info("resumed from the checkpoint at %s", positions[-1])
    return positions[-1]


def warn_if_disk_is_short(trainer, run: RunDirectory) -> None:
    """A checkpoint holds each network and about two optimizer slots per weight (Adam)."""
    weights = sum(network.count_params() for network in trainer.networks().values())
    needed = 3 * (weights * 4 * 3)
    free = shutil.disk_usage(run.root).free
    if free < needed:
        log.warning(
            "only %.1f MB free in %s, less than three checkpoints (%.1f MB): training may fail to save",
            free / 1e6,
            run.root,
            needed / 1e6,
        )


def fit_epochs(trainer, data: LabelledImages, config: dict, first: int, last: int, callbacks, skip: int = 0):
    """``fit`` over epochs first+1..last (1-based), the first of them entered ``skip`` batches late."""
    steps = config["steps_per_epoch_actual"]
    stream = training_dataset(
        data.images,
        data.labels,
        data.num_classes,
        config["batch_size"],
        config["seed"],
        config["flip"],
        first,
        last,
        steps,
        skip=skip,
        group=config.get("n_critic"),  # the WGAN-GP's critic batches side by side, even one
    )
    trainer.fit(
        stream,
        epochs=last,
        initial_epoch=first,
        steps_per_epoch=steps - skip if skip else steps,
        callbacks=callbacks,
        verbose=2 if config["quiet"] or not sys.stdout.isatty() else 1,
        shuffle=False,
    )


def open_run(config: dict, given: set, script: str):
    """``(strategy, chief, run, config)``: the start every script shares.

    Only the chief (of a multi-worker run) writes the run directory; the other
    workers train their share and read the same directory, for instance to resume.
    """
    strategy = make_strategy(config["strategy"])  # first: a multi-worker strategy must precede other TF work
    chief = is_chief(strategy)
    run, config = prepare_run(config, given, script, writer=chief)
    check_batch_split(config["batch_size"], strategy)
    if chief:
        attach_log_file(run)
    return strategy, chief, run, config


def run_experiment(config: dict, given: set, script: str, build_trainer) -> RunDirectory:
    """Train ``build_trainer(config, image_shape, num_classes)`` and write the run directory."""
    strategy, chief, run, config = open_run(config, given, script)
    stored = run.read_config() if config.get("resume") else None
    data = load_training_images(config)
    config = describe_data(config, data, stored)
    if carried := carried_classes(config):
        config["init_classes"] = carried
    keras.utils.set_random_seed(config["seed"])
    set_precision(precision_policy(config))
    with strategy.scope():
        trainer = build_trainer(config, tuple(config["image_shape"]), len(config["class_names"]))
        position = resume_point(trainer, run, config)
    if chief:
        run.write_config(config)
        warn_if_disk_is_short(trainer, run)
    start, epochs, steps = position.epochs, config["epochs"], config["steps_per_epoch_actual"]
    log.info(
        "run directory %s; epochs %d..%d of %d steps, each on %d real images",
        run.root,
        start + 1,
        epochs,
        steps,
        images_per_step(config),
    )
    log.info(
        describe(config["strategy"], strategy, config["batch_size"], precision_policy(config), trainer.jit_compile)
    )
    callbacks = [DivergenceGuard(first_step=position.step)]
    if chief:
        callbacks += run_directory_callbacks(run, config, data, steps, position)
    run_epochs(trainer, data, config, position, callbacks)
    if chief:
        log.info("done: %s", run.root)
    else:
        log.info("done (a worker: the chief writes %s)", run.root)
    return run


def run_directory_callbacks(run: RunDirectory, config: dict, data, steps: int, position: Position) -> list:
    """Everything that writes the run directory (the chief's job alone)."""
    noise = fixed_noise(config["seed"], config["sample_columns"], config["latent_dim"])
    mixing_noise = fixed_noise(config["seed"], len(config["class_names"]), config["latent_dim"])
    callbacks = [
        *evaluation_callbacks(config, data, config["cache_dir"] or DEFAULT_CACHE),  # first: figures join the row
        EpochLog(run.log_csv, resume_epoch=position.epochs),
        SampleGrid(run.samples, noise, config["class_names"]),
        MixingMatrix(run.mixing_matrix, mixing_noise, config["class_names"]),
        Checkpoint(run.checkpoints, steps, config["checkpoint_every"], config["keep"], first_step=position.step),
    ]
    if config.get("tensorboard"):
        callbacks += tensorboard_callbacks(run.root / "tensorboard", noise, config["class_names"])
    return callbacks


def run_epochs(trainer, data: LabelledImages, config: dict, position: Position, callbacks) -> None:
    start, epochs = position.epochs, config["epochs"]
    if position.step:  # finish the interrupted epoch from the batch after the checkpoint
        fit_epochs(trainer, data, config, start, start + 1, callbacks, skip=position.step)
        start += 1
    if start < epochs:
        fit_epochs(trainer, data, config, start, epochs, callbacks)
    if position.epochs >= epochs:
        log.info("the run already has %d epochs; pass a larger --epochs to train more", position.epochs)
