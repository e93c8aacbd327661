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
from evaluation.inception import add_real_side, inception_part, prepare_inception
from evaluation.measure import FIGURES, generator_sampler, measure, real_reference
from evaluation.settings import DEFAULT_SAMPLES

log = logging.getLogger(__name__)

PREFIX = "eval_"
INCEPTION_COLUMNS = {"inception_fid": "fid", "inception_kid": "kid", "inception_score": "inception_score"}


def log_keys(with_inception: bool = False) -> list[str]:
    """The log.csv columns this callback fills."""
    return [PREFIX + name for name in (*FIGURES, *(INCEPTION_COLUMNS if with_inception else ()))]


class EvaluationCallback(keras.callbacks.Callback):
    """``inception(generator) -> figures`` (or None) adds the Inception columns."""

    def __init__(self, every: int, classifier, reference, seed: int = 0, inception=None):
        super().__init__()
        self.every = every
        self.classifier = classifier
        self.reference = reference
        self.seed = seed
        self.inception = inception

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        if (epoch + 1) % self.every:
            logs.update(dict.fromkeys(log_keys(self.inception is not None), float("nan")))
            return
        generator = self.model.sample_generator()
        result = measure(generator_sampler(generator, self.seed), self.classifier, self.reference)
        logs.update({PREFIX + name: float(value) for name, value in result.figures.items()})
        if self.inception is not None:
            figures = self.inception(generator)
            logs.update({PREFIX + column: as_float(figures[key]) for column, key in INCEPTION_COLUMNS.items()})


def as_float(value) -> float:
    return float("nan") if value is None else float(value)


def evaluation_callbacks(
    every: int, data, dataset: str, data_dir, resize: str, cache_dir, inception_weights=None, fid_stats=None
) -> list:
    """``[EvaluationCallback]`` every ``every`` epochs.

    The classifier is trained (or read from ``cache_dir``) here, before ``fit``
    starts, and the real figures are computed once for the whole run; where
    the dataset has a validation split, both are measured on it.
    """
    validation = validation_images(dataset, data_dir, data.image_shape[0], data.class_names, resize, cache_dir)
    inception = inception_tracker(inception_weights, fid_stats, data, validation)
    classifier = load_or_train_classifier(data, dataset, cache_dir, validation=validation)
    reference = real_reference(classifier, data, DEFAULT_SAMPLES, seed=0, validation=validation)
    log.info("--eval-every %d: figures in log.csv columns %s", every, ", ".join(log_keys(inception is not None)))
    return [EvaluationCallback(every, classifier, reference, inception=inception)]


def inception_tracker(inception_weights, fid_stats, data, validation):
    """``figures(generator)`` in the network of ``--inception-weights`` (None without the flag).

    The network, the statistics file and the real images' pass are read once,
    before training starts, so each evaluation costs only the samples' pass.
    """
    if not inception_weights:
        return None
    setup = prepare_inception(inception_weights, fid_stats)
    add_real_side(setup, data, validation, DEFAULT_SAMPLES)
    log.info("--eval-every: Inception figures in %s, against %s", setup.network.description, setup.real_source)

    def figures(generator) -> dict:
        return inception_part(setup, generator, data, validation, DEFAULT_SAMPLES)

    return figures
