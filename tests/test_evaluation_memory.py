"""Evaluation in bounded memory: a set too large for memory is read a batch or a chunk at a time.

The sets here are small; ``data.IN_MEMORY_BYTES`` lowered makes them large for the test, as in
``test_streaming.py``. Every read goes through ``StoredImages.take``: the largest read says what was
held at once.
"""

from __future__ import annotations

import hashlib
import json
import logging

import numpy as np
import pytest

import data
from data import LabelledImages
from data.cache import StoredImages
from evaluation import classifier as classifier_module
from evaluation.classifier import EVALUATION_BATCH, data_fingerprint, load_or_train_classifier, train_classifier
from evaluation.inception import batches_of
from evaluation.judges import FLATTEN
from evaluation.measure import real_halves

COUNT, SIDE, CLASSES = 600, 16, 3


@pytest.fixture
def stored(tmp_path) -> LabelledImages:
    """COUNT images of three colours with noise, at rows spread over a larger file (as after --top-styles)."""
    rng = np.random.default_rng(0)
    labels = np.arange(COUNT) % CLASSES
    shades = np.array([[200, 40, 40], [40, 200, 40], [40, 40, 200]])[labels]
    images = np.clip(shades[:, None, None, :] + rng.integers(-40, 40, (COUNT, SIDE, SIDE, 3)), 0, 255)
    rows = np.sort(rng.permutation(COUNT + 50)[:COUNT])
    on_disk = np.zeros((COUNT + 50, SIDE, SIDE, 3), np.uint8)
    on_disk[rows] = images
    (tmp_path / "pixels").write_bytes(on_disk.tobytes())
    return LabelledImages(StoredImages(str(tmp_path / "pixels"), rows, (SIDE, SIDE, 3)), labels, ["r", "g", "b"])


@pytest.fixture
def reads(monkeypatch) -> list[int]:
    """How many images each read of the store took."""
    counts, take = [], StoredImages.take

    def counted(self, indices):
        counts.append(len(np.asarray(indices)))
        return take(self, indices)

    monkeypatch.setattr(StoredImages, "take", counted)
    return counts


@pytest.fixture
def converted(monkeypatch) -> list[int]:
    """How many images each conversion to floats in the judge's code took."""
    counts, convert = [], classifier_module.to_model_range

    def counted(images):
        counts.append(len(images))
        return convert(images)

    monkeypatch.setattr(classifier_module, "to_model_range", counted)
    return counts


def test_a_set_too_large_for_memory_trains_its_judge_a_batch_at_a_time(
    stored, reads, converted, tmp_path, monkeypatch, caplog
):
    caplog.set_level(logging.INFO)
    monkeypatch.setattr(data, "IN_MEMORY_BYTES", 1000)
    monkeypatch.setattr(data.pipeline, "CHUNK_BYTES", 100 * SIDE * SIDE * 3)  # the fingerprint's reads: smaller
    judge = load_or_train_classifier(stored, "folder", tmp_path / "cache", epochs=1)
    assert 0.0 <= judge.held_out_accuracy <= 1.0 and isinstance(judge.held_out_accuracy, float)
    assert judge.held_out_images == 120  # the stratified fifth
    features, probabilities = judge.predict(np.zeros((5, SIDE, SIDE, 3), np.float32))
    assert features.shape == (5, 128) and probabilities.shape == (5, CLASSES)
    assert converted == []  # nothing converted whole: the stream converts each batch
    assert reads and max(reads) <= max(FLATTEN.batch_size, EVALUATION_BATCH) < COUNT
    assert "a batch at a time" in caplog.text


def test_the_streamed_judge_is_measured_on_the_validation_split(stored, reads, converted):
    train, validation = stored.split(0.25, seed=1)
    model, accuracy, held = train_classifier(train.source, train.labels, CLASSES, 1, 0, validation)
    assert held == len(validation.labels) and 0.0 <= accuracy <= 1.0
    assert converted == [] and max(reads) <= EVALUATION_BATCH
    assert model.outputs[1].shape[-1] == CLASSES


def test_a_streamed_judge_is_reproducible_from_its_seed(stored):
    first, second = (train_classifier(stored.source, stored.labels, CLASSES, 1, seed=2)[0] for _ in range(2))
    for mine, theirs in zip(first.get_weights(), second.get_weights(), strict=True):
        assert np.array_equal(mine, theirs)


def test_a_set_within_the_limit_trains_its_judge_whole_in_memory_as_before(stored, tmp_path, caplog):
    """The path every cached and published judge was trained on: the same weights as from the array."""
    caplog.set_level(logging.INFO)
    judge = load_or_train_classifier(stored, "folder", tmp_path / "cache", epochs=1)
    assert "held in memory, as floats" in caplog.text
    model, accuracy, _ = train_classifier(np.asarray(stored.images), stored.labels, CLASSES, 1)
    assert accuracy == judge.held_out_accuracy
    for mine, theirs in zip(judge.model.get_weights(), model.get_weights(), strict=True):
        assert np.array_equal(mine, theirs)


def test_the_fingerprint_reads_in_chunks_and_is_the_same_wherever_the_pixels_are(stored, reads, monkeypatch):
    monkeypatch.setattr(data.pipeline, "CHUNK_BYTES", 100 * SIDE * SIDE * 3)
    array = stored.take(np.arange(COUNT))
    reads.clear()
    mapped = np.memmap(stored.source.path, np.uint8, "r", shape=(COUNT + 50, SIDE, SIDE, 3))[stored.source.rows]
    validation = stored.subset(np.arange(10))
    found = {
        "store": data_fingerprint(stored.source, stored.labels, stored.class_names, validation),
        "memory": data_fingerprint(array, stored.labels, stored.class_names, validation),
        "map": data_fingerprint(mapped, stored.labels, stored.class_names, validation),
    }
    assert max(reads) == 100
    digest = hashlib.sha256()  # the key every cached judge was filed under: the whole set's bytes at once
    digest.update(json.dumps([FLATTEN.name, FLATTEN.version, stored.class_names, list(array.shape), 0]).encode())
    for part in (array, stored.labels, validation.images, validation.labels):
        digest.update(np.ascontiguousarray(part, part.dtype if part.dtype == np.uint8 else np.int64).tobytes())
    assert set(found.values()) == {digest.hexdigest()[:16]}


def test_the_real_halves_read_only_the_images_drawn(stored, reads):
    images_a, labels_a, images_b, labels_b = real_halves(stored, 20, seed=0)
    assert max(reads) == 20 and len(reads) == 2
    array = stored.take(np.arange(COUNT))
    order = np.concatenate([np.flatnonzero((array == image).all(axis=(1, 2, 3)))[:1] for image in images_a])
    assert np.array_equal(stored.labels[order], labels_a) and len(images_b) == len(labels_b) == 20


@pytest.mark.parametrize("where", ["store", "map"])
def test_the_inception_pass_reads_a_batch_at_a_time(stored, reads, where):
    array = stored.take(np.arange(COUNT))
    reads.clear()
    source = stored.source
    if where == "map":  # adjacent rows of the store, as LabelledImages.images maps them: read by pread, not mapped
        source = StoredImages(source.path, np.arange(COUNT), source.image_shape).array()
        array = np.fromfile(stored.source.path, np.uint8).reshape(-1, SIDE, SIDE, 3)[:COUNT]
    order = np.random.default_rng(3).permutation(COUNT)[:250]
    batches = list(batches_of(source, order, batch_size=64))
    assert max(reads) == 64 and len(batches) == 4
    assert np.array_equal(np.concatenate(batches), array[order].astype(np.float32) / 127.5 - 1.0)
