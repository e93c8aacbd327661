"""Training, measuring and caching one style judge (a design of ``evaluation.judges``).

A judge labels samples (conditional accuracy, mixing), and its feature
layer is the space of the Frechet distance, KID, precision and recall.
Training one costs seconds to minutes, so it is trained once per design,
dataset, image size, image content and seed, and cached as ``.h5`` plus a
``.json`` note of its held-out accuracy, which every report prints beside
the figures: a figure from a judge that is right 40% of the time means
something else than one from a judge that is right 99% of the time.

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

from base.networks import load_network, save_network
from data import evaluation_dataset, held_out_split, image_chunks, steps_per_epoch, to_model_range, training_dataset
from data.cache import StoredImages, human_bytes
from evaluation.judges import DESIGNS, FLATTEN, JudgeDesign

log = logging.getLogger(__name__)

HELD_OUT_FRACTION = 0.2
EVALUATION_BATCH = 256


@dataclass
class RealClassifier:
    model: keras.Model  # images in [-1, 1] -> (features, class probabilities)
    held_out_accuracy: float  # on the validation split where there is one, else on the held-out fifth
    held_out_images: int
    epochs: int
    path: Path | None = None
    from_cache: bool = False
    measured_on: str = "held-out training images"
    seed: int = 0
    design: str = FLATTEN.name

    @property
    def name(self) -> str:
        """The judge's name in reports: its design, and its seed when that is not 0."""
        return self.design if self.seed == 0 else f"{self.design}#{self.seed}"

    def predict(self, images, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """``(features, probabilities)`` for images in [-1, 1], in inference mode and in chunks."""
        images = np.asarray(images, dtype=np.float32)
        parts = [self.model(images[i : i + batch_size], training=False) for i in range(0, len(images), batch_size)]
        features = np.concatenate([np.asarray(f) for f, _ in parts])
        probabilities = np.concatenate([np.asarray(p) for _, p in parts])
        return features, probabilities

    def note(self) -> dict:
        return {
            "design": self.design,
            "reads": DESIGNS[self.design].reads,
            "path": str(self.path) if self.path else None,
            "held_out_accuracy": self.held_out_accuracy,
            "held_out_images": self.held_out_images,
            "measured_on": self.measured_on,
            "epochs": self.epochs,
            "seed": self.seed,
        }


def build_classifier(image_shape, num_classes: int, design: JudgeDesign = FLATTEN) -> keras.Model:
    """The design's network, with its two outputs named: one pass over the samples gives every figure."""
    network = design.network(image_shape, num_classes)
    return keras.Model(network.input, network.outputs, name=f"judge_{design.name.replace('-', '_')}")


def train_classifier(images, labels, num_classes: int, epochs=None, seed: int = 0, validation=None,
                     design: JudgeDesign = FLATTEN, progress=None):  # fmt: skip
    """Fit and measure; ``(model, accuracy, images measured)``.

    With ``validation`` (a ``data.LabelledImages``) it trains on every image
    and is measured on the validation images; otherwise on a stratified fifth
    held out of ``images``. ``epochs`` None: the design's own budget.
    ``progress(epoch, epochs, accuracy)``, when given, hears the measured
    accuracy after every epoch: a judge of the larger designs trains for
    many minutes, and a user should see it learn.

    ``images``: a uint8 array, converted to [-1, 1] whole (every published
    judge was trained so), or the decoded-image store's rows
    (``StoredImages``, what ``LabelledImages.training_source`` gives for a
    set too large for memory), read and converted a batch at a time: the
    whole WikiArt at 256 px is 11 GB of bytes, four times that as floats.
    """
    labels = np.asarray(labels)
    epochs = design.epochs if epochs is None else epochs
    feed = (streamed_feed if isinstance(images, StoredImages) else memory_feed)(
        images, labels, num_classes, epochs, seed, validation, design.batch_size
    )
    if feed.held == 0:
        raise ValueError("too few images to hold any out for measuring the classifier")
    keras.utils.set_random_seed(seed)
    model = build_classifier(feed.image_shape, num_classes, design)
    probability_head = keras.Model(model.input, model.outputs[1])
    trainable = keras.Sequential(
        [keras.Input(feed.image_shape), *design.augmentation(feed.image_shape), probability_head]
    )
    trainable.compile(
        optimizer=keras.optimizers.Adam(learning_rate(design, epochs, feed.images_per_epoch)),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )

    measured = []  # after each epoch when progress is heard; the last one is the judge's accuracy

    def measure(epoch: int, _logs=None) -> None:  # augmentation layers are off outside fit
        measured.append(float(trainable.evaluate(**feed.evaluate, verbose=0)[1]))
        if progress is not None:
            progress(epoch + 1, epochs, measured[-1])

    callbacks = [] if progress is None else [keras.callbacks.LambdaCallback(on_epoch_end=measure)]
    trainable.fit(**feed.fit, epochs=epochs, verbose=0, callbacks=callbacks)
    if progress is None:
        measure(epochs - 1)
    return model, measured[-1], feed.held


@dataclass
class Feed:
    """What a judge's ``fit`` and ``evaluate`` read, and how many images that is."""

    image_shape: tuple
    images_per_epoch: int
    held: int  # the images it is measured on
    fit: dict  # fit's data arguments
    evaluate: dict  # evaluate's data arguments


def memory_feed(images, labels, num_classes, epochs, seed, validation, batch_size) -> Feed:
    """The whole set as floats in memory, shuffled by ``fit``: how every cached and published judge was trained,
    kept for the sets the training stream holds in memory, so that such a judge trained again is the same judge."""
    x = to_model_range(np.asarray(images))
    if validation is not None:
        train, x_held, y_held = np.arange(len(labels)), to_model_range(np.asarray(validation.images)), validation.labels
    else:
        train, held = held_out_split(labels, HELD_OUT_FRACTION, seed)
        x_held, y_held = x[held], labels[held]
    fit = {"x": x[train], "y": labels[train], "batch_size": batch_size, "shuffle": True}
    evaluate = {"x": x_held, "y": y_held, "batch_size": EVALUATION_BATCH}
    return Feed(x.shape[1:], len(train), len(y_held), fit, evaluate)


def streamed_feed(images, labels, num_classes, epochs, seed, validation, batch_size) -> Feed:
    """Batches read from the store and converted one at a time, in a seeded order per epoch (``training_dataset``,
    without its flips: the design's augmentation is the judge's own); the last partial batch of an epoch is left
    out, as in the generators' training."""
    if validation is not None:
        train_images, train_labels, held_images, held_labels = images, labels, validation.source, validation.labels
    else:
        train, held = held_out_split(labels, HELD_OUT_FRACTION, seed)
        train_images, train_labels = images.subset(train), labels[train]
        held_images, held_labels = images.subset(held), labels[held]
    steps = steps_per_epoch(len(train_labels), batch_size)
    stream = training_dataset(train_images, train_labels, num_classes, batch_size, seed, epochs=epochs)
    held_stream = evaluation_dataset(held_images, held_labels, num_classes, EVALUATION_BATCH)
    fit = {"x": stream.map(class_indices), "steps_per_epoch": steps, "shuffle": False}  # the stream shuffles
    evaluate = {"x": held_stream.map(class_indices)}
    return Feed(tuple(images.image_shape), steps * batch_size, len(held_labels), fit, evaluate)


def class_indices(images, conditions):
    """The data pipeline's one-hot conditions back to the class indices the judges' loss takes."""
    import tensorflow as tf

    return images, tf.argmax(conditions, axis=-1)


def how_read(images) -> str:
    """Which of ``train_classifier``'s two paths ``images`` take, said in the log."""
    if isinstance(images, StoredImages):
        return f"their {human_bytes(images.nbytes)} read from {images.path} a batch at a time"
    return f"their {human_bytes(images.nbytes)} held in memory, as floats"


def log_progress(design: JudgeDesign, measured_on: str):
    """A ``train_classifier`` progress hook that logs one line per epoch."""
    return lambda epoch, epochs, accuracy: log.info(
        "judge %s: epoch %d/%d, accuracy %.4f on %s", design.name, epoch, epochs, accuracy, measured_on
    )


def learning_rate(design: JudgeDesign, epochs: int, images: int):
    """The design's rate, constant or falling linearly to 0 at the last of ``epochs`` epochs."""
    if not design.decay:
        return design.learning_rate
    steps = epochs * -(-images // design.batch_size)
    return keras.optimizers.schedules.PolynomialDecay(design.learning_rate, steps, end_learning_rate=0.0)


def data_fingerprint(images, labels, class_names, validation=None, seed: int = 0, design: JudgeDesign = FLATTEN):
    """A hash of the design, pixels, labels, class names, validation set and seed: changed data never reuses
    a stale judge.

    ``images``: an array or the store's rows (``LabelledImages.source``); the
    pixels are hashed a chunk at a time, the same bytes in the same order
    wherever they are, so a judge cached from one is found from the other.
    """
    digest = hashlib.sha256()
    key = [design.name, design.version, list(class_names), list(np.shape(images)), seed]
    digest.update(json.dumps(key).encode())
    hash_pixels(digest, images)
    digest.update(np.ascontiguousarray(labels, dtype=np.int64).tobytes())
    if validation is not None:
        hash_pixels(digest, validation.source)
        digest.update(np.ascontiguousarray(validation.labels, dtype=np.int64).tobytes())
    return digest.hexdigest()[:16]


def hash_pixels(digest, images) -> None:
    for chunk in image_chunks(images):
        digest.update(np.ascontiguousarray(chunk, dtype=np.uint8))


def cache_path(cache_dir, dataset: str, data, validation=None, seed: int = 0, design: JudgeDesign = FLATTEN) -> Path:
    size = int(data.image_shape[0])
    fingerprint = data_fingerprint(data.source, data.labels, data.class_names, validation, seed, design)
    return Path(cache_dir) / "classifiers" / f"{dataset}-{size}-{design.name}-{fingerprint}.h5"


def _read_cached(path: Path, design: JudgeDesign) -> RealClassifier | None:
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
        design.name,
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
    data, dataset: str, cache_dir, epochs=None, validation=None, seed: int = 0, design: JudgeDesign = FLATTEN
) -> RealClassifier:
    """The cached judge of this design for this data, or a freshly trained (and then cached) one.

    ``data`` and ``validation`` are ``data.LabelledImages`` (``validation``:
    the dataset's validation split, or None). The cache key is the design,
    the data and the seed, not the training budget: a cached judge is reused
    whatever ``epochs`` says, and its own budget and accuracy are reported
    (delete the file to retrain). ``epochs`` None: the design's own budget.
    """
    path = cache_path(cache_dir, dataset, data, validation, seed, design)
    cached = _read_cached(path, design)
    if cached is not None:
        log.info("judge %s: cached %s (accuracy %.4f on %s)", cached.name, path, cached.held_out_accuracy,
                 cached.measured_on)  # fmt: skip
        return cached
    measured_on = "held-out training images" if validation is None else "validation split"
    epochs = design.epochs if epochs is None else epochs
    images = data.training_source()
    log.info("judge %s: training on %d real %s images for %d epochs, %s", design.name, len(data.labels), dataset,
             epochs, how_read(images))  # fmt: skip
    model, accuracy, held = train_classifier(images, data.labels, data.num_classes, epochs, seed, validation,
                                             design, log_progress(design, measured_on))  # fmt: skip
    classifier = RealClassifier(model, accuracy, held, epochs, path, measured_on=measured_on, seed=seed,
                                design=design.name)  # fmt: skip
    _write_cached(classifier, path)
    log.info("judge %s: accuracy %.4f on %d images (%s); cached at %s", classifier.name, accuracy, held, measured_on,
             path)  # fmt: skip
    return classifier
