"""``--eval-every N``: the classifier-based figures in log.csv while a run trains.

The callback writes its figures into the epoch's ``logs`` dict, which every
later callback receives, so it must come before ``EpochLog`` in the list.
It sets the same keys at every epoch (NaN when it skips one), because
``EpochLog`` fixes its columns at the first row it writes.
"""

from __future__ import annotations

import logging

import keras

from data import validation_images
from evaluation.classifier import load_or_train_classifier
from evaluation.measure import FIGURES, generator_sampler, measure, real_reference
from evaluation.settings import DEFAULT_SAMPLES

log = logging.getLogger(__name__)

PREFIX = "eval_"


def log_keys() -> list[str]:
    """The log.csv columns this callback fills."""
    return [PREFIX + name for name in FIGURES]


class EvaluationCallback(keras.callbacks.Callback):
    def __init__(self, every: int, classifier, reference, seed: int = 0):
        super().__init__()
        self.every = every
        self.classifier = classifier
        self.reference = reference
        self.seed = seed

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        if (epoch + 1) % self.every:
            logs.update(dict.fromkeys(log_keys(), float("nan")))
            return
        result = measure(generator_sampler(self.model.sample_generator(), self.seed), self.classifier, self.reference)
        logs.update({PREFIX + name: float(value) for name, value in result.figures.items()})


def evaluation_callbacks(config: dict, data, cache_dir) -> list:
    """``[EvaluationCallback]`` when ``config["eval_every"]`` is set, else ``[]``.

    The classifier is trained (or read from ``cache_dir``) here, before ``fit``
    starts, and the real figures are computed once for the whole run; where
    the dataset has a validation split, both are measured on it.
    """
    every = config.get("eval_every")
    if not every:
        return []
    validation = validation_images(
        config["dataset"], config["data_dir"], data.image_shape[0], data.class_names, config["resize"], cache_dir
    )
    classifier = load_or_train_classifier(data, config["dataset"], cache_dir, validation=validation)
    reference = real_reference(classifier, data, DEFAULT_SAMPLES, seed=0, validation=validation)
    log.info("--eval-every %d: figures in log.csv columns %s", every, ", ".join(log_keys()))
    return [EvaluationCallback(every, classifier, reference)]
