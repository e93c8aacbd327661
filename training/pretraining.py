"""Critic pretraining (GANGogh): the critic learns the styles before adversarial training starts.

Early adversarial training is wasted while the critic cannot yet tell the
styles apart: its class signal to the generator means nothing. Pretraining
the class head on real paintings (and, optionally, the score head against an
untrained generator) gives train_wgan_gp.py a critic that already knows art.
"""

from __future__ import annotations

import logging
import math
import sys
from pathlib import Path

import keras
import numpy as np

from base.networks import save_network
from base.rundir import DEFAULT_CACHE
from data import LabelledImages, evaluation_dataset, load_images, training_dataset
from training.callbacks import EpochLog
from training.cli import precision_policy
from training.devices import set_precision
from training.experiment import describe_data, load_training_images, open_run
from training.optimizers import adam

log = logging.getLogger("artgan")

PRETRAINED_NAME = "critic_pretrained.h5"


def align_classes(images: LabelledImages, class_names: list[str]) -> LabelledImages:
    """Relabel a split by the training split's class names; drop classes training does not have."""
    position = {name: index for index, name in enumerate(class_names)}
    mapping = np.array([position.get(name, -1) for name in images.class_names])
    labels = mapping[images.labels]
    keep = labels >= 0
    return LabelledImages(np.asarray(images.images)[keep], labels[keep], list(class_names))


def split_validation(config: dict, data: LabelledImages) -> tuple[LabelledImages, LabelledImages]:
    """WikiArt's own style_val.csv when present, else a held-out fraction of the training images."""
    data_dir = config.get("data_dir")
    if config["dataset"] == "wikiart" and data_dir and (Path(data_dir) / "style_val.csv").is_file():
        val = load_images(
            "wikiart",
            data_dir,
            config["image_size"],
            config["resize"],
            None,
            "val",
            config["cache_dir"] or str(DEFAULT_CACHE),
            progress=not config["quiet"],
        )
        val = align_classes(val, data.class_names)
        log.info("validation: %d images of style_val.csv", len(val.labels))
        return data, val
    train, val = data.split(config["val_fraction"], config["seed"])
    log.info("validation: %d held-out images (%.0f%%)", len(val.labels), 100 * config["val_fraction"])
    return train, val


class SavePretrainedCritic(keras.callbacks.Callback):
    """critic_pretrained.h5 after every epoch (atomically), so a stopped run still leaves a critic."""

    def __init__(self, path):
        super().__init__()
        self.path = Path(path)

    def on_epoch_end(self, epoch, logs=None):
        save_network(self.model.critic, self.path)


def build_pretrainer(config: dict, image_shape, num_classes: int):
    from models.trainers import CriticPretrainer
    from models.wgan_gp import build_wgan_critic, build_wgan_generator

    critic = build_wgan_critic(image_shape, num_classes, config["filters"])
    generator = None
    if config["adversarial"]:
        generator = build_wgan_generator(image_shape, num_classes, config["latent_dim"], config["filters"])
    pretrainer = CriticPretrainer(critic, generator, config["latent_dim"], config["gp_weight"], seed=config["seed"])
    pretrainer.compile(optimizer=adam(config), jit_compile=config["jit"])
    return pretrainer


def run_pretraining(config: dict, given: set, script: str):
    strategy, chief, run, config = open_run(config, given, script)
    train, val = split_validation(config, load_training_images(config))
    config = describe_data(config, train, None)
    if config.get("steps"):
        config["steps_per_epoch_actual"] = min(config["steps_per_epoch_actual"], config["steps"])
        config["epochs"] = math.ceil(config["steps"] / config["steps_per_epoch_actual"])
    if chief:
        run.write_config(config)
    keras.utils.set_random_seed(config["seed"])
    set_precision(precision_policy(config))
    with strategy.scope():
        pretrainer = build_pretrainer(config, tuple(config["image_shape"]), len(config["class_names"]))
    epochs, steps = config["epochs"], config["steps_per_epoch_actual"]
    log.info("pretraining the critic for %d epochs of %d steps (batch %d)", epochs, steps, config["batch_size"])
    stream = training_dataset(
        train.images,
        train.labels,
        train.num_classes,
        config["batch_size"],
        config["seed"],
        config["flip"],
        0,
        epochs,
        steps,
    )
    history = pretrainer.fit(
        stream,
        epochs=epochs,
        steps_per_epoch=steps,
        validation_data=evaluation_dataset(val.images, val.labels, val.num_classes, config["batch_size"]),
        callbacks=[EpochLog(run.log_csv), SavePretrainedCritic(run.root / PRETRAINED_NAME)] if chief else [],
        verbose=2 if config["quiet"] or not sys.stdout.isatty() else 1,
        shuffle=False,
    )
    if not chief:
        log.info("done (a worker: the chief writes %s)", run.root)
        return run
    log.info(
        "validation style accuracy %.3f (chance %.3f); critic saved to %s",
        history.history["val_style_acc"][-1],
        1 / train.num_classes,
        run.root / PRETRAINED_NAME,
    )
    return run
