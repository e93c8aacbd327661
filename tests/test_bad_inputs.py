"""What a real download brings: mojibake names, other encodings, odd names, tiny images, rows that disagree."""

from __future__ import annotations

import csv
import logging
import os
import unicodedata

import pytest

from data import load_images
from data.files import index_wikiart
from tests.conftest import shared_data, write_image


def unmangled(name: str) -> str:
    """The name an unzip that spells UTF-8 right gives a painting that ArtGAN's CSVs list in mojibake.

    The CSVs hold each UTF-8 byte as a Latin-1 character, lower-cased: the lead bytes C2 and C3 of two-byte
    sequences became 'â' and 'ã'; upper-casing them back and reading the bytes as UTF-8 undoes it.
    """
    return name.replace("ã", "Ã").replace("â", "Â").encode("latin-1").decode("utf-8")


def real_rows(split: str) -> list[tuple[str, str]]:
    path = shared_data("wikiart") / f"style_{split}.csv"
    with open(path, newline="", encoding="utf-8") as handle:
        return [(row[0], row[1]) for row in csv.reader(handle)]


def test_the_archive_s_709_mojibake_names_match_correctly_spelled_files(tmp_path):
    source = shared_data("wikiart")
    for name in ("style_class.txt", "style_train.csv", "style_val.csv"):
        (tmp_path / name).symlink_to(source / name)
    mangled = {split: [p for p, _ in real_rows(split) if not p.isascii()] for split in ("train", "val")}
    assert (len(mangled["train"]), len(mangled["val"])) == (489, 220)  # 709 in all
    for relative in mangled["train"] + mangled["val"]:
        path = tmp_path / unmangled(relative)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")  # indexing opens nothing
    for split, count in (("train", 489), ("val", 220)):
        index = index_wikiart(str(tmp_path), split)
        assert len(index.paths) == count
        assert all(os.path.exists(path) for path in index.paths)
        note = " ".join(index.notes)
        assert f"{count} names matched after Unicode normalisation or the archive's mojibake repair" in note
        if split == "train":
            assert "(e.g. Naive_Art_Primitivism/grã©goire-michonze_in-the-village-1978.jpg -> " in note
            assert "-> grégoire-michonze_in-the-village-1978.jpg)" in note


def test_names_in_another_normal_form_match_and_ambiguous_ones_do_not(tmp_path):
    composed = unicodedata.normalize("NFC", "Alpha/müller.png")
    write_image(tmp_path / unicodedata.normalize("NFD", composed))  # as macOS's unzip writes it
    write_image(tmp_path / "Alpha" / "plain.png")
    write_image(tmp_path / "Beta" / "Ørsted.png")
    write_image(tmp_path / "Beta" / "ørsted.png")  # two files fold to one listed name: neither is taken
    write_image(tmp_path / "Beta" / "b.png")
    rows = [f"{composed},0", "Alpha/plain.png,0", "Beta/ørsted.PNG,1", "Beta/b.png,1"]
    (tmp_path / "style_train.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    index = index_wikiart(str(tmp_path))
    assert sorted(os.path.basename(p) for p in index.paths) == sorted(
        [unicodedata.normalize("NFD", "müller.png"), "plain.png", "b.png"]
    )
    note = " ".join(index.notes)
    assert "1 names matched" in note and "1 names left unmatched, as they fit several files" in note
    assert "1 missing" in note


def test_a_csv_line_in_another_encoding_is_read_and_named(tmp_path, caplog):
    write_image(tmp_path / "Alpha" / "café.png")
    write_image(tmp_path / "Alpha" / "b.png")
    write_image(tmp_path / "Beta" / "c.png")
    raw = "Alpha/café.png,0\r\n".encode("cp1252") + b"Alpha/b.png,0\r\nBeta/c.png,1\r\n"
    (tmp_path / "style_train.csv").write_bytes(b"\xef\xbb\xbf" + raw)  # a BOM, then a Windows-1252 line
    index = index_wikiart(str(tmp_path))
    assert len(index.paths) == 3 and index.class_names == ["Alpha", "Beta"]
    warning = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warning == [f"{tmp_path / 'style_train.csv'}: 1 lines are not UTF-8 (the first: line 1); read as "
                       "Windows-1252"]  # fmt: skip


def test_a_row_that_disagrees_with_its_folder_is_counted_once_and_reported(tmp_path):
    for name in ("a", "b", "c"):
        write_image(tmp_path / "Alpha" / f"{name}.png")
    write_image(tmp_path / "Beta" / "d.png")
    rows = ["Alpha/a.png,3", "Alpha/b.png,3", "Alpha/c.png,7", "Beta/d.png,7", "Alpha/a.png,3", "Alpha/c.png,3"]
    (tmp_path / "style_train.csv").write_text("\n".join(rows) + "\n")
    index = index_wikiart(str(tmp_path))
    assert index.class_names == ["Alpha", "Beta"] and sorted(index.labels) == [0, 0, 0, 1]
    note = " ".join(index.notes)
    assert "1 rows labelled by their folder" in note and "Alpha/c.png says 7, its folder 3" in note
    assert "2 rows name a painting listed before: counted once" in note


def test_images_below_the_smallest_side_are_skipped_and_counted(tmp_path, caplog):
    for index in range(3):
        write_image(tmp_path / "a" / f"{index}.png", size=(20, 20))
        write_image(tmp_path / "b" / f"{index}.png", size=(20, 20))
    write_image(tmp_path / "a" / "dot.png", size=(1, 1))
    write_image(tmp_path / "b" / "strip.png", size=(200, 15))
    data = load_images("folder", str(tmp_path), 64, cache_dir=str(tmp_path / "cache"), progress=False)
    assert len(data.labels) == 6
    assert "skipped 2 image files (2 too small)" in caplog.text
    assert "200x15 pixels, under the 16 px a side needs at 64 px" in caplog.text


@pytest.mark.skipif(os.uname().sysname == "Darwin", reason="macOS refuses file names that are not UTF-8")
def test_a_file_name_that_is_not_utf8_is_logged_safely(tmp_path, capsys):
    from training.runner import attach_log_file

    for index in range(2):
        write_image(tmp_path / "set" / "a" / f"{index}.png")
        write_image(tmp_path / "set" / "b" / f"{index}.png")
    with open(os.fsencode(tmp_path / "set" / "a") + b"/caf\xe9.png", "wb") as handle:
        handle.write(b"Latin-1 name, and not a PNG either")
    run = type("Run", (), {"train_log": tmp_path / "train.log"})()
    root = logging.getLogger()
    before = list(root.handlers)
    attach_log_file(run)
    try:
        load_images("folder", str(tmp_path / "set"), 16, cache_dir=str(tmp_path / "cache"), progress=False)
    finally:
        for handler in set(root.handlers) - set(before):
            handler.close()
            root.removeHandler(handler)
    text = (tmp_path / "train.log").read_text(encoding="utf-8")
    assert "caf\\xe9.png" in text and "skipped 1 image files (1 unreadable)" in text
    assert "Logging error" not in capsys.readouterr().err
