"""Training from the decoded-image store: host-side, in bounded memory, with the order --resume expects."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import data
from data import LabelledImages, load_images, training_dataset
from data.cache import StoredImages
from tests.conftest import ROOT, write_image


def batches(stream):
    return [(np.asarray(x), np.asarray(c)) for x, c in stream]


def test_the_images_never_become_a_tensor_of_the_pipeline():
    """Before, the whole set was a constant captured by the pipeline's graph (24 MB here; on GPU:0 on a GPU)."""
    import tensorflow as tf

    images = np.zeros((2000, 64, 64, 3), np.uint8)
    stream = training_dataset(images, np.arange(2000) % 3, 3, 32, seed=0)
    graph = stream._as_serialized_graph(external_state_policy=tf.data.experimental.ExternalStatePolicy.WARN)
    assert len(graph.numpy()) < 100_000 < images.nbytes


def test_the_store_and_memory_give_the_same_stream(tmp_path):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (40, 8, 8, 3), dtype=np.uint8)
    labels = np.arange(40) % 4
    path = tmp_path / "pixels"
    shuffled_rows = rng.permutation(60)[:40]  # rows anywhere in a larger file, as after a --top-styles subset
    on_disk = np.zeros((60, 8, 8, 3), np.uint8)
    on_disk[shuffled_rows] = images
    path.write_bytes(on_disk.tobytes())
    stored = StoredImages(str(path), shuffled_rows, (8, 8, 3))
    mapped = np.memmap(path, np.uint8, "r", shape=(60, 8, 8, 3))[10:50]
    for source, array in ((stored, images), (mapped, on_disk[10:50])):
        options = {"seed": 5, "flip": True, "epochs": 2, "group": 2}
        streamed = batches(training_dataset(source, labels, 4, 4, **options))
        held = batches(training_dataset(array, labels, 4, 4, **options))
        assert len(streamed) == 10
        for (a, ca), (b, cb) in zip(streamed, held, strict=True):
            assert np.array_equal(a, b) and np.array_equal(ca, cb)


def test_rows_are_read_back_in_any_order_and_grouping(tmp_path):
    on_disk = np.random.default_rng(2).integers(0, 256, (12, 2, 2, 3), dtype=np.uint8)
    (tmp_path / "pixels").write_bytes(on_disk.tobytes())
    rows = np.array([5, 6, 7, 2, 3, 9, 10, 0])
    stored = StoredImages(str(tmp_path / "pixels"), rows, (2, 2, 3))
    for indices in ([0, 1, 2, 3, 4, 5, 6, 7], [7, 6, 5, 4, 3, 2, 1, 0], [2, 0, 1, 6, 5], [3], [1, 1, 2]):
        assert np.array_equal(stored.take(indices), on_disk[rows[indices]])
    assert np.array_equal(stored.array(), on_disk[rows])
    assert np.array_equal(stored.subset([1, 2]).array(), on_disk[6:8]) and stored.subset([1, 2]).contiguous()


def test_a_store_file_made_again_is_read_afresh(tmp_path):
    path = tmp_path / "pixels"
    path.write_bytes(bytes(12 * 2))
    stored = StoredImages(str(path), np.arange(2), (2, 2, 3))
    assert stored.take([0, 1]).max() == 0
    path.unlink()  # the cache removed and filled again while this process runs
    path.write_bytes(bytes([7]) * 12 * 4)
    assert np.array_equal(StoredImages(str(path), np.arange(4), (2, 2, 3)).take([3, 0]), np.full((2, 2, 2, 3), 7))


def test_small_sets_are_read_into_memory_and_large_ones_streamed(tmp_path, caplog, monkeypatch):
    caplog.set_level(logging.INFO)
    for index in range(8):
        write_image(tmp_path / "set" / ("a" if index % 2 else "b") / f"{index}.png", size=(16, 16))
    loaded = load_images("folder", str(tmp_path / "set"), 8, cache_dir=str(tmp_path / "cache"), progress=False)
    assert isinstance(loaded.source, StoredImages) and isinstance(loaded.training_source(), np.ndarray)
    assert "training reads the 1.5 kB of decoded images from memory" in caplog.text
    monkeypatch.setattr(data, "IN_MEMORY_BYTES", 1000)
    again = load_images("folder", str(tmp_path / "set"), 8, cache_dir=str(tmp_path / "cache"), progress=False)
    assert isinstance(again.training_source(), StoredImages) and "training streams the 1.5 kB" in caplog.text


def test_a_subset_of_stored_images_stays_on_disk(tmp_path):
    path = tmp_path / "pixels"
    path.write_bytes(np.arange(10 * 12, dtype=np.uint8).tobytes())
    whole = LabelledImages(StoredImages(str(path), np.arange(10), (2, 2, 3)), np.arange(10) % 2, ["a", "b"])
    kept, held = whole.split(0.2, seed=0)
    assert isinstance(kept.source, StoredImages) and len(kept.labels) + len(held.labels) == 10
    assert np.array_equal(held.images, np.asarray(whole.images)[np.isin(np.arange(10), held.source.rows)])


MEMORY_RUN = """
    import json, os, sys
    import numpy as np
    import tensorflow as tf
    import data
    from data import load_images, training_dataset

    data.IN_MEMORY_BYTES = 0  # this set is large for this test: stream it

    def memory(field):
        for line in open("/proc/self/status"):
            if line.startswith(field):
                return int(line.split()[1]) * 1024

    tf.data.Dataset.range(4).map(lambda x: x + 1).reduce(np.int64(0), lambda a, b: a + b)  # pipeline threads up
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")  # the peak starts again from here
    start = memory("VmRSS")
    loaded = load_images("folder", sys.argv[1], 256, cache_dir=sys.argv[2], progress=False)
    after_load = memory("VmHWM")
    for _ in training_dataset(loaded.training_source(), loaded.labels, 2, 8, seed=0, flip=True):
        pass
    print(json.dumps({"array": loaded.nbytes, "load": after_load - start, "epoch": memory("VmHWM") - start}))
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"), reason="needs Linux's /proc peak-memory reset")
def test_decoding_and_an_epoch_grow_memory_by_a_fraction_of_the_decoded_set(tmp_path):
    """A 295 MB decoded set: the first run (decoding) grows by under half of it, the second by under a third.

    Before the store, the set was copied into a tensor: about four times its size at the first batch.
    """
    from PIL import Image

    encoded = []
    for shade in range(4):
        write_image(tmp_path / "source.jpg", size=(256, 256), color=(shade * 60, 90, 200 - shade * 40))
        encoded.append((tmp_path / "source.jpg").read_bytes())
    for index in range(1500):
        folder = tmp_path / "set" / ("a" if index % 2 else "b")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{index:04d}.jpg").write_bytes(encoded[index % 4])
    assert Image.open(tmp_path / "set" / "a" / "0001.jpg").size == (256, 256)
    environment = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
    figures = []
    for _ in ("decoding", "cached"):
        command = [sys.executable, "-c", textwrap.dedent(MEMORY_RUN), str(tmp_path / "set"), str(tmp_path / "cache")]
        run = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr[-2000:]
        figures.append(json.loads(run.stdout.strip().splitlines()[-1]))
    first, second = figures
    assert first["array"] == second["array"] == 1500 * 256 * 256 * 3
    assert first["epoch"] < first["array"] / 2, figures
    assert second["epoch"] < second["array"] / 3, figures
