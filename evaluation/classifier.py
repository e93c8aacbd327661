"""A small CNN trained on a dataset's real images: the judge of generated images.

It labels samples (conditional accuracy, mixing), and its penultimate layer
is the feature space of the Frechet distance and of the diversity figure.
Training it costs seconds to minutes, so it is trained once per dataset,
image size and image content, and cached as ``.h5`` plus a ``.json`` note of
its held-out accuracy, which every report prints beside the figures: a
figure from a judge that is right 60% of the time means something else than
one from a judge that is right 99% of the time.

Where the dataset has a validation split (WikiArt's ``style_val.csv``), the
judge trains on every training image and its accuracy is measured on the
validation paintings, which neither it nor the generator has seen.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
from keras import layers

from base.networks import load_network, save_network
from data import held_out_split, to_model_range
from evaluation.settings import DEFAULT_CLASSIFIER_EPOCHS

log = logging.getLogger(__name__)

CLASSIFIER_VERSION = 2  # part of the cache key: bump it when the architecture or recipe changes
HELD_OUT_FRACTION = 0.2
BATCH_SIZE = 128
FEATURE_LAYER = "features"
STAGE_FILTERS = (32, 64, 128)
FLIP_FROM_SIZE = 48  # from this side on the images are paintings or photographs: a mirror image keeps its class


@dataclass
class RealClassifier:
    model: keras.Model  # images in [-1, 1] -> (penultimate features, class probabilities)
    held_out_accuracy: float  # on the validation split where there is one, else on the held-out fifth
    held_out_images: int
    epochs: int
    path: Path | None = None
    from_cache: bool = False
    measured_on: str = "held-out training images"
    seed: int = 0

    def predict(self, images, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """``(features, probabilities)`` for images in [-1, 1], in inference mode and in chunks."""
        images = np.asarray(images, dtype=np.float32)
        parts = [self.model(images[i : i + batch_size], training=False) for i in range(0, len(images), batch_size)]
        features = np.concatenate([np.asarray(f) for f, _ in parts])
        probabilities = np.concatenate([np.asarray(p) for _, p in parts])
        return features, probabilities

    def note(self) -> dict:
        return {
            "path": str(self.path) if self.path else None,
            "held_out_accuracy": self.held_out_accuracy,
            "held_out_images": self.held_out_images,
            "measured_on": self.measured_on,
            "epochs": self.epochs,
            "seed": self.seed,
        }


def build_classifier(image_shape, num_classes: int) -> keras.Model:
    """Three conv-pool stages, flatten, a 128-unit feature layer, softmax.

    Flatten rather than global pooling keeps where strokes are, which a digit's
    class depends on (98.9% against 93.9% with pooling on MNIST, same budget).
    On WikiArt at 64 px it is the better style judge too: 0.43 on the val
    paintings after 7 epochs, where four Conv-BN-ReLU-pool stages with global
    average pooling stayed at 0.20 to 0.23 (BENCHMARKS.md).

    The model has two outputs, the features and the probabilities, so one
    pass over the samples gives every figure.
    """
    image = keras.Input(tuple(image_shape), name="image")
    x = image
    for stage, width in enumerate(STAGE_FILTERS, start=1):
        x = layers.Conv2D(width, 3, padding="same", activation="relu", name=f"conv{stage}")(x)
        x = layers.MaxPooling2D(2, padding="same", name=f"pool{stage}")(x)
    x = layers.Flatten(name="flatten")(x)
    features = layers.Dense(128, activation="relu", name=FEATURE_LAYER)(x)
    x = layers.Dropout(0.3, name="dropout")(features)
    probabilities = layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(image, [features, probabilities], name="real_classifier")


def training_augmentation(image_shape) -> list:
    """Horizontal flips from 48 px on: a mirrored painting keeps its style (and WikiArt's generator
    trains on flipped paintings too); a mirrored digit does not keep its class."""
    if image_shape[0] < FLIP_FROM_SIZE:
        return []
    return [layers.RandomFlip("horizontal")]


def train_classifier(
    images, labels, num_classes: int, epochs: int = DEFAULT_CLASSIFIER_EPOCHS, seed: int = 0, validation=None
):
    """Fit and measure; ``(model, accuracy, images measured)``.

    With ``validation`` (a ``data.LabelledImages``) it trains on every image
    and is measured on the validation images; otherwise on a stratified fifth
    held out of ``images``.
    """
    x = to_model_range(np.asarray(images))
    labels = np.asarray(labels)
    if validation is not None:
        train, x_held, y_held = np.arange(len(labels)), to_model_range(validation.images), validation.labels
    else:
        train, held = held_out_split(labels, HELD_OUT_FRACTION, seed)
        x_held, y_held = x[held], labels[held]
    if len(y_held) == 0:
        raise ValueError("too few images to hold any out for measuring the classifier")
    keras.utils.set_random_seed(seed)
    model = build_classifier(x.shape[1:], num_classes)
    probability_head = keras.Model(model.input, model.outputs[1])
    trainable = keras.Sequential([keras.Input(x.shape[1:]), *training_augmentation(x.shape[1:]), probability_head])
    trainable.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    trainable.fit(x[train], labels[train], batch_size=BATCH_SIZE, epochs=epochs, shuffle=True, verbose=0)
    _, accuracy = trainable.evaluate(x_held, y_held, batch_size=256, verbose=0)  # augmentation is off here
    return model, float(accuracy), int(len(y_held))


def data_fingerprint(images, labels, class_names, validation=None, seed: int = 0) -> str:
    """A hash of the pixels, labels, class names, validation set and seed: changed data never reuses a stale judge."""
    digest = hashlib.sha256()
    digest.update(json.dumps([CLASSIFIER_VERSION, list(class_names), list(np.shape(images)), seed]).encode())
    digest.update(np.ascontiguousarray(images, dtype=np.uint8).tobytes())
    digest.update(np.ascontiguousarray(labels, dtype=np.int64).tobytes())
    if validation is not None:
        digest.update(np.ascontiguousarray(validation.images, dtype=np.uint8).tobytes())
        digest.update(np.ascontiguousarray(validation.labels, dtype=np.int64).tobytes())
    return digest.hexdigest()[:16]


def cache_path(cache_dir, dataset: str, data, validation=None, seed: int = 0) -> Path:
    size = int(data.image_shape[0])
    fingerprint = data_fingerprint(data.images, data.labels, data.class_names, validation, seed)
    return Path(cache_dir) / "classifiers" / f"{dataset}-{size}-{fingerprint}.h5"


def _read_cached(path: Path) -> RealClassifier | None:
    note_path = path.with_suffix(".json")
    if not (path.is_file() and note_path.is_file()):
        return None
    try:
        note = json.loads(note_path.read_text())
        model = load_network(path)
    except (OSError, ValueError) as error:
        log.warning("ignoring the unreadable cached classifier %s: %s", path, error)
        return None
    return RealClassifier(
        model,
        note["held_out_accuracy"],
        note["held_out_images"],
        note["epochs"],
        path,
        True,
        note.get("measured_on", "held-out training images"),
        note.get("seed", 0),
    )


def _write_cached(classifier: RealClassifier, path: Path) -> None:
    """The .h5 first, the .json note last: the note marks a complete cache entry."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        save_network(classifier.model, path)
        tmp = path.with_name(f"{path.stem}.json.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(classifier.note(), indent=2) + "\n")
        os.replace(tmp, path.with_suffix(".json"))
    except OSError as error:
        log.warning("could not cache the classifier in %s: %s", path.parent, error)


def load_or_train_classifier(
    data, dataset: str, cache_dir, epochs: int = DEFAULT_CLASSIFIER_EPOCHS, validation=None, seed: int = 0
) -> RealClassifier:
    """The cached classifier for this data, or a freshly trained (and then cached) one.

    ``data`` and ``validation`` are ``data.LabelledImages`` (``validation``:
    the dataset's validation split, or None). The cache key is the data and
    the seed, not the training budget: a cached classifier is reused whatever
    ``epochs`` says, and its own budget and accuracy are reported (delete the
    file to retrain). Another ``seed`` trains a second judge, to see how far
    two judges agree on the same samples.
    """
    path = cache_path(cache_dir, dataset, data, validation, seed)
    cached = _read_cached(path)
    if cached is not None:
        log.info("classifier: cached %s (accuracy %.4f on %s)", path, cached.held_out_accuracy, cached.measured_on)
        return cached
    measured_on = "held-out training images" if validation is None else "validation split"
    log.info("classifier: training on %d real %s images for %d epochs", len(data.labels), dataset, epochs)
    model, accuracy, held = train_classifier(data.images, data.labels, data.num_classes, epochs, seed, validation)
    classifier = RealClassifier(model, accuracy, held, epochs, path, measured_on=measured_on, seed=seed)
    _write_cached(classifier, path)
    log.info("classifier: accuracy %.4f on %d images (%s); cached at %s", accuracy, held, measured_on, path)
    return classifier
