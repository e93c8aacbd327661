"""Every loader on the real files in ../shared/data (skipped where absent)."""

import logging
from itertools import pairwise

import numpy as np
import pytest

from data import load_images, training_dataset, validation_images
from data.files import index_wikiart
from tests.conftest import shared_data

MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
WIKIART_STYLES = [  # ordered by their ArtGAN label: 0, 4, 7, 10, 12, 14, 15, 19
    "Abstract_Expressionism",
    "Baroque",
    "Cubism",
    "Fauvism",
    "Impressionism",
    "Minimalism",
    "Naive_Art_Primitivism",
    "Pop_Art",
]


def test_mnist_t10k_files_alone_are_used_and_said(caplog):
    caplog.set_level(logging.INFO)
    data = load_images("mnist", str(shared_data("mnist")))
    assert data.images.shape == (10000, 28, 28, 1) and data.images.dtype == np.uint8
    assert data.class_counts().tolist() == MNIST_TEST_COUNTS
    assert data.images.max() == 255 and data.images.min() == 0
    assert "training on the 10000 t10k test images" in caplog.text


def test_cifar10_python_batches(caplog):
    caplog.set_level(logging.INFO)
    root = shared_data("cifar10")
    data = load_images("cifar10", str(root))
    assert data.images.shape == (10000, 32, 32, 3)
    assert data.class_names[:3] == ["airplane", "automobile", "bird"] and data.num_classes == 10
    assert data.class_counts().tolist() == [1000] * 10
    assert "training on test_batch" in caplog.text
    # rows are stored channel-first (1024 red, 1024 green, 1024 blue); pixel (0, 1) of image 0:
    import pickle

    with open(root / "cifar-10-batches-py" / "test_batch", "rb") as handle:
        raw = pickle.load(handle, encoding="bytes")[b"data"][0]
    assert data.images[0, 0, 1].tolist() == [raw[1], raw[1024 + 1], raw[2048 + 1]]


def test_wikiart_with_split_csvs(caplog, tmp_path):
    caplog.set_level(logging.INFO)
    root = shared_data("wikiart")
    data = load_images("wikiart", str(root), cache_dir=str(tmp_path), progress=False)
    assert data.class_names == WIKIART_STYLES
    assert data.images.shape == (640, 64, 64, 3)
    assert data.class_counts().tolist() == [80] * 8  # labels remapped to 0..7
    assert "skipped 56385 missing" in caplog.text
    assert data.images.std() > 20  # real paintings, not blank decodes


def test_wikiart_splits_and_top_styles(tmp_path):
    root = str(shared_data("wikiart"))
    assert len(index_wikiart(root, "val").paths) == 160
    assert len(index_wikiart(root, "all").paths) == 800
    top = index_wikiart(root, "train", top_styles=3)
    assert len(top.class_names) == 3 and sorted(set(top.labels)) == [0, 1, 2]
    assert [top.class_names.index(name) for name in top.class_names] == [0, 1, 2]
    assert all(WIKIART_STYLES.index(a) < WIKIART_STYLES.index(b) for a, b in pairwise(top.class_names))


def test_wikiart_crop_mode_and_pipeline_range(tmp_path):
    data = load_images("wikiart", str(shared_data("wikiart")), resize="crop", cache_dir=str(tmp_path), progress=False)
    stream = training_dataset(data.images, data.labels, data.num_classes, 32, seed=3, flip=True, epochs=1)
    images, conditions = next(iter(stream))
    assert images.shape == (32, 64, 64, 3) and images.dtype.name == "float32"
    assert -1.0 <= float(np.min(images)) < -0.5 and 0.5 < float(np.max(images)) <= 1.0
    assert conditions.shape == (32, 8) and np.allclose(np.sum(conditions, axis=1), 1.0)


def test_top_styles_larger_than_present_is_an_error():
    from base.errors import UserError

    with pytest.raises(UserError, match="larger than the 8 styles"):
        index_wikiart(str(shared_data("wikiart")), "train", top_styles=9)


def test_wikiart_validation_split_is_labelled_like_training(tmp_path):
    root = str(shared_data("wikiart"))
    train = load_images("wikiart", root, 32, cache_dir=str(tmp_path), progress=False)
    val = validation_images("wikiart", root, 32, train.class_names, cache_dir=str(tmp_path))
    assert val.class_names == train.class_names and len(val.labels) == 160  # the rows of style_val.csv here
    assert val.class_counts().tolist() == [20] * 8
    # the same style on both sides: Baroque is the darkest style in train and in val
    darkest = [int(np.argmin([d.images[d.labels == k].mean() for k in range(8)])) for d in (train, val)]
    assert darkest == [train.class_names.index("Baroque")] * 2
    # a subset of the classes, in another order, is relabelled by name
    some = ["Pop_Art", "Baroque"]
    subset = validation_images("wikiart", root, 32, some, cache_dir=str(tmp_path))
    assert subset.class_names == some and subset.class_counts().tolist() == [20, 20]
    assert np.array_equal(subset.images[subset.labels == 1], val.images[val.labels == 1])


def test_no_validation_split_without_both_csvs(tmp_path):
    assert validation_images("digits", None, 16, ["0", "1"]) is None
    folder = tmp_path / "art"
    (folder / "A").mkdir(parents=True)
    assert validation_images("wikiart", str(folder), 16, ["A"]) is None
