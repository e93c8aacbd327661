"""Loaders on small generated files: formats, layouts and the edge cases of real downloads."""

import gzip
import logging
import pickle

import numpy as np
import pytest
from PIL import Image

from base.errors import UserError
from data import load_images
from data.arrays import load_cifar10, load_mnist
from data.files import index_folder, index_wikiart
from data.images import decode_files
from tests.conftest import write_image


def write_idx(path, array, magic, compress):
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    opener = gzip.open if compress else open
    with opener(path, "wb") as handle:
        handle.write(payload)


@pytest.mark.parametrize("compress", [True, False])
def test_mnist_idx_prefers_the_training_pair(tmp_path, rng, compress):
    suffix = ".gz" if compress else ""
    train = rng.integers(0, 256, (5, 28, 28))
    write_idx(tmp_path / f"train-images-idx3-ubyte{suffix}", train, 2051, compress)
    write_idx(tmp_path / f"train-labels-idx1-ubyte{suffix}", np.array([3, 1, 4, 1, 5]), 2049, compress)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", rng.integers(0, 256, (2, 28, 28)), 2051, False)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([0, 1]), 2049, False)
    images, labels, names, note = load_mnist(str(tmp_path))
    assert images.shape == (5, 28, 28, 1) and np.array_equal(images[..., 0], train)
    assert labels.tolist() == [3, 1, 4, 1, 5] and note is None and len(names) == 10


def test_mnist_wrong_magic_and_missing_files(tmp_path, rng):
    with pytest.raises(UserError, match="no MNIST idx files"):
        load_mnist(str(tmp_path))
    write_idx(tmp_path / "t10k-images-idx3-ubyte", rng.integers(0, 256, (2, 28, 28)), 2049, False)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([0, 1]), 2049, False)
    with pytest.raises(UserError, match="magic number 2049, expected 2051"):
        load_mnist(str(tmp_path))


def test_cifar10_training_batches_and_meta(tmp_path, rng):
    root = tmp_path / "cifar-10-batches-py"
    root.mkdir()
    rows = rng.integers(0, 256, (4, 3072)).astype(np.uint8)
    for name, labels in [("data_batch_1", [0, 1]), ("data_batch_3", [2, 3]), ("test_batch", [9, 9])]:
        part = rows[:2] if name != "data_batch_3" else rows[2:]
        with open(root / name, "wb") as handle:
            pickle.dump({b"data": part, b"labels": labels}, handle)
    with open(root / "batches.meta", "wb") as handle:
        pickle.dump({b"label_names": [f"c{i}".encode() for i in range(10)]}, handle)
    images, labels, names, note = load_cifar10(str(tmp_path))
    assert labels.tolist() == [0, 1, 2, 3] and names[0] == "c0" and note is None
    assert images.shape == (4, 32, 32, 3)
    assert np.array_equal(images[3, :, :, 2].reshape(-1), rows[3, 2048:])


def make_wikiart(root, counts, labels, csv_rows=None, class_file=True):
    for style, n in counts.items():
        for i in range(n):
            write_image(root / style / f"artist_{i}.jpg", color=(10 * i, 100, 200))
    if class_file:
        (root / "style_class.txt").write_text("".join(f"{i} {name}\n" for name, i in labels.items()))
    if csv_rows is not None:
        (root / "style_train.csv").write_bytes("".join(row + "\r\n" for row in csv_rows).encode())


def test_wikiart_csv_remaps_labels_and_counts_bad_rows(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    make_wikiart(tmp_path, {"Zeta": 2, "Alpha": 3}, {"Alpha": 5, "Zeta": 2})
    rows = [f"Alpha/artist_{i}.jpg,5" for i in range(3)] + ["Zeta/artist_0.jpg,2", "Zeta/artist_1.jpg,2"]
    rows += ["Zeta/artist_9.jpg,2", "Alpha/missing.jpg,5", "garbage-without-label", "Alpha/artist_0.jpg,99"]
    (tmp_path / "style_train.csv").write_bytes("".join(r + "\r\n" for r in rows).encode())
    index = index_wikiart(str(tmp_path))
    assert index.class_names == ["Zeta", "Alpha"]  # ArtGAN label order (2 before 5), not alphabetical
    assert sorted(index.labels) == [0, 0, 1, 1, 1]
    note = " ".join(index.notes)
    assert "5 rows usable" in note and "2 missing" in note and "1 malformed" in note
    assert "1 label out of range" in note


def test_wikiart_without_csvs_uses_sorted_folders(tmp_path):
    make_wikiart(tmp_path, {"Zeta": 2, "Alpha": 1}, {}, class_file=False)
    (tmp_path / "Alpha" / ".hidden.jpg").write_bytes(b"")
    (tmp_path / "Alpha" / "notes.txt").write_text("not an image")
    index = index_wikiart(str(tmp_path))
    assert index.class_names == ["Alpha", "Zeta"] and sorted(index.labels) == [0, 1, 1]


def test_folder_order_from_class_list(tmp_path):
    write_image(tmp_path / "cats" / "a.png")
    write_image(tmp_path / "dogs" / "nested" / "b.jpg")
    assert index_folder(str(tmp_path)).class_names == ["cats", "dogs"]
    (tmp_path / "classes.txt").write_text("dogs\ncats\n")
    index = index_folder(str(tmp_path))
    assert index.class_names == ["dogs", "cats"] and index.labels[index.paths.index(str(tmp_path / "cats/a.png"))] == 1


def test_empty_class_folders_are_skipped_by_name_until_fewer_than_two_remain(tmp_path, caplog):
    write_image(tmp_path / "cats" / "a.png")
    write_image(tmp_path / "dogs" / "b.jpg")
    (tmp_path / "birds").mkdir()
    (tmp_path / "ants" / "empty-subfolder").mkdir(parents=True)
    with caplog.at_level(logging.WARNING):
        index = index_folder(str(tmp_path))
    assert index.class_names == ["cats", "dogs"] and sorted(index.labels) == [0, 1]
    assert "skipped 2 classes with no images (ants, birds); training on 2 classes" in caplog.text
    data = load_images("folder", str(tmp_path), image_size=8, progress=False)
    assert data.class_names == ["cats", "dogs"] and data.class_counts().tolist() == [1, 1]
    (tmp_path / "dogs" / "b.jpg").unlink()
    with pytest.raises(
        UserError, match=r"1 class with images; a conditional GAN needs 2 or more \(empty: ants, birds, dogs\)"
    ):
        index_folder(str(tmp_path))


def test_a_class_whose_every_file_is_unreadable_is_skipped_too(tmp_path, caplog):
    for name in ("cats", "dogs"):
        write_image(tmp_path / name / "a.png")
    (tmp_path / "birds").mkdir()
    (tmp_path / "birds" / "broken.png").write_text("not a png")
    with caplog.at_level(logging.WARNING):
        data = load_images("folder", str(tmp_path), image_size=8, progress=False)
    assert data.class_names == ["cats", "dogs"] and sorted(data.labels.tolist()) == [0, 1]
    assert "after skipping unreadable files: skipped 1 class with no images (birds)" in caplog.text


def test_wikiart_styles_of_the_class_list_without_images_are_named(tmp_path, caplog):
    make_wikiart(tmp_path, {"Alpha": 2, "Zeta": 1}, {"Alpha": 0, "Beta": 1, "Zeta": 2})
    (tmp_path / "style_train.csv").write_text("Alpha/artist_0.jpg,0\nAlpha/artist_1.jpg,0\nZeta/artist_0.jpg,2\n")
    with caplog.at_level(logging.WARNING):
        index = index_wikiart(str(tmp_path))
    assert index.class_names == ["Alpha", "Zeta"] and sorted(index.labels) == [0, 0, 1]
    assert "skipped 1 style with no images (Beta); training on 2 styles" in caplog.text


def test_wikiart_without_data_dir_reads_keras_home(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    with pytest.raises(UserError) as caught:
        load_images("wikiart")
    lines = str(caught.value).splitlines()
    assert len(lines) == 2 and str(tmp_path / "keras" / "datasets" / "wikiart") in lines[0]
    assert "github.com/cs-chan/ArtGAN" in lines[1] and "style_train.csv" in lines[1]
    make_wikiart(tmp_path / "keras" / "datasets" / "wikiart", {"Alpha": 1, "Zeta": 2}, {}, class_file=False)
    data = load_images("wikiart", image_size=8, progress=False)
    assert data.class_names == ["Alpha", "Zeta"] and data.class_counts().tolist() == [1, 2]


def test_bad_files_are_skipped_by_name_and_odd_modes_decode(tmp_path):
    good = [
        write_image(tmp_path / "rgb.jpg"),
        write_image(tmp_path / "gray.png", mode="L", color=128),
        write_image(tmp_path / "cmyk.jpg", mode="CMYK", color=(255, 0, 0, 0)),
        write_image(tmp_path / "rgba.png", mode="RGBA", color=(255, 0, 0, 0)),
        write_image(tmp_path / "palette.gif", mode="P", color=3),
        write_image(tmp_path / "name with spaces é.png"),
        write_image(tmp_path / "small.png", size=(4, 30)),  # a quarter of 16 px: the smallest side kept
    ]
    sixteen = tmp_path / "sixteen.png"
    Image.fromarray(np.full((8, 8), 65535, np.uint16)).save(sixteen)
    good.append(sixteen)
    zero = tmp_path / "zero.jpg"
    zero.write_bytes(b"")
    text = tmp_path / "text.png"
    text.write_text("this is not a png")
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(write_image(tmp_path / "whole.jpg", size=(64, 64)).read_bytes()[:300])
    tiny = write_image(tmp_path / "tiny.png", size=(1, 1))  # a flat tile once stretched: skipped and counted
    thin = write_image(tmp_path / "thin.png", size=(3, 40))
    paths = good + [zero, text, truncated, tiny, thin]
    decoded = decode_files(paths, list(range(len(paths))), 16, 3, "squash", progress=False)
    assert sorted(path for path, _ in decoded.skipped) == sorted(map(str, [zero, text, truncated, tiny, thin]))
    reasons = dict(decoded.skipped)
    assert reasons[str(tiny)].startswith("ImageTooSmall: 1x1 pixels, under the 4 px")
    assert reasons[str(thin)].startswith("ImageTooSmall: 3x40 pixels")
    assert decoded.images.shape == (len(good), 16, 16, 3)
    by_label = dict(zip(decoded.labels.tolist(), decoded.images, strict=True))
    assert by_label[3].min() == 255  # fully transparent red over white is white
    assert by_label[7].min() == 255  # 16-bit white stays white (not clipped to a wrong value)
    assert by_label[2][..., 0].max() < 40 and by_label[2][..., 2].min() > 200  # CMYK cyan -> RGB cyan


def test_decode_cache_is_reused_and_keyed_by_settings(tmp_path, monkeypatch):
    paths = [write_image(tmp_path / "img" / f"{i}.png", color=(i * 40, 0, 0)) for i in range(3)]
    first = decode_files(paths, [0, 1, 2], 8, 3, "squash", cache_dir=tmp_path / "cache", progress=False)
    import data.images

    monkeypatch.setattr(data.images, "_try_decode", lambda *a, **k: pytest.fail("decoded again"))
    second = decode_files(paths, [0, 1, 2], 8, 3, "squash", cache_dir=tmp_path / "cache", progress=False)
    assert np.array_equal(first.images, second.images)
    with pytest.raises(pytest.fail.Exception, match="decoded again"):  # other settings, other cache entry
        decode_files(paths, [0, 1, 2], 8, 3, "crop", cache_dir=tmp_path / "cache", progress=False)


def test_unknown_dataset_and_missing_dir_are_clear_errors(tmp_path):
    with pytest.raises(UserError, match="unknown dataset 'imagenet'"):
        load_images("imagenet")
    with pytest.raises(UserError, match="--data-dir is required"):
        load_images("folder")
    with pytest.raises(UserError, match="no usable images"):
        load_images("wikiart", str(tmp_path))


def test_digits_ship_with_scikit_learn():
    data = load_images("digits", image_size=16)
    assert data.images.shape == (1797, 16, 16, 1) and data.num_classes == 10
    assert data.images.max() == 255 and data.class_counts().min() > 170
