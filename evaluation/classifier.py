"""A small CNN trained on a dataset's real images: the judge of generated images.

It labels samples (conditional accuracy, mixing), and its penultimate layer
is the feature space of the Frechet distance and of the diversity figure.
Training it costs seconds to minutes, so it is trained once per dataset,
image size and image content, and cached as ``.h5`` plus a ``.json`` note of
its held-out accuracy, which every report prints beside the figures: a
figure from a judge that is right 60% of the time means something else than
one from a judge that is right 99% of the time.
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

CLASSIFIER_VERSION = 1  # part of the cache key: bump it when the architecture or recipe changes
HELD_OUT_FRACTION = 0.2
BATCH_SIZE = 128
FEATURE_LAYER = "features"
STAGE_FILTERS = (32, 64, 128)


@dataclass
class RealClassifier:
    model: keras.Model  # images in [-1, 1] -> (penultimate features, class probabilities)
    held_out_accuracy: float
    held_out_images: int
    epochs: int
    path: Path | None = None
    from_cache: bool = False

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
            "epochs": self.epochs,
        }


def build_classifier(image_shape, num_classes: int) -> keras.Model:
    """Three conv-pool stages, flatten, a 128-unit feature layer, softmax.

    Flatten rather than global pooling keeps where strokes are, which a digit's
    class depends on (98.9% against 93.9% with pooling on MNIST, same budget).

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


def train_classifier(images, labels, num_classes: int, epochs: int = DEFAULT_CLASSIFIER_EPOCHS, seed: int = 0):
    """Fit on the training split; ``(model, held-out accuracy, held-out count)``."""
    train, held = held_out_split(labels, HELD_OUT_FRACTION, seed)
    if len(held) == 0:
        raise ValueError("too few images to hold any out for measuring the classifier")
    x = to_model_range(np.asarray(images))
    model = build_classifier(x.shape[1:], num_classes)
    probability_head = keras.Model(model.input, model.outputs[1])
    probability_head.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    probability_head.fit(x[train], labels[train], batch_size=BATCH_SIZE, epochs=epochs, shuffle=True, verbose=0)
    _, accuracy = probability_head.evaluate(x[held], labels[held], batch_size=256, verbose=0)
    return model, float(accuracy), int(len(held))


def data_fingerprint(images, labels, class_names) -> str:
    """A hash of the pixels, labels and class names: a changed dataset never reuses a stale judge."""
    digest = hashlib.sha256()
    digest.update(json.dumps([CLASSIFIER_VERSION, list(class_names), list(np.shape(images))]).encode())
    digest.update(np.ascontiguousarray(images, dtype=np.uint8).tobytes())
    digest.update(np.ascontiguousarray(labels, dtype=np.int64).tobytes())
    return digest.hexdigest()[:16]


def cache_path(cache_dir, dataset: str, images, labels, class_names) -> Path:
    size = int(np.shape(images)[1])
    return Path(cache_dir) / "classifiers" / f"{dataset}-{size}-{data_fingerprint(images, labels, class_names)}.h5"


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
    return RealClassifier(model, note["held_out_accuracy"], note["held_out_images"], note["epochs"], path, True)


def _write_cached(classifier: RealClassifier, path: Path) -> None:
    """The .h5 first, the .json note last: the note marks a complete cache entry."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        save_network(classifier.model, path)
        tmp = path.with_name(path.stem + ".json.tmp")
        tmp.write_text(json.dumps(classifier.note(), indent=2) + "\n")
        os.replace(tmp, path.with_suffix(".json"))
    except OSError as error:
        log.warning("could not cache the classifier in %s: %s", path.parent, error)


def load_or_train_classifier(data, dataset: str, cache_dir, epochs: int = DEFAULT_CLASSIFIER_EPOCHS) -> RealClassifier:
    """The cached classifier for this data, or a freshly trained (and then cached) one.

    ``data`` is a ``data.LabelledImages``. The cache key is the data, not the
    training budget: a cached classifier is reused whatever ``epochs`` says,
    and its own budget and accuracy are reported (delete the file to retrain).
    """
    path = cache_path(cache_dir, dataset, data.images, data.labels, data.class_names)
    cached = _read_cached(path)
    if cached is not None:
        log.info("classifier: cached %s (held-out accuracy %.4f)", path, cached.held_out_accuracy)
        return cached
    log.info("classifier: training on %d real %s images for %d epochs", len(data.labels), dataset, epochs)
    model, accuracy, held = train_classifier(data.images, data.labels, data.num_classes, epochs)
    classifier = RealClassifier(model, accuracy, held, epochs, path)
    _write_cached(classifier, path)
    log.info("classifier: held-out accuracy %.4f on %d images; cached at %s", accuracy, held, path)
    return classifier
