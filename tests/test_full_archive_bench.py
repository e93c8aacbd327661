"""bench/full_archive.py lays out the archive's names as the index finds them: mojibake names spelled right."""

import pytest
from PIL import Image

from bench import full_archive
from data.files import index_wikiart, name_keys


def test_mojibake_names_are_spelled_back_as_an_unzip_writes_them_and_ascii_names_stay():
    cases = {
        "grã©goire-michonze_birds.jpg": "grégoire-michonze_birds.jpg",
        "joaquã\xadn-sorolla_study-of-vineyard.jpg": "joaquín-sorolla_study-of-vineyard.jpg",
        "arnold-bã¶cklin_the-plague-1898.jpg": "arnold-böcklin_the-plague-1898.jpg",
        "claude-monet_water-lilies.jpg": "claude-monet_water-lilies.jpg",
    }
    for listed, expected in cases.items():
        assert full_archive.spelled_right(listed) == expected
        assert listed in name_keys(expected)  # the index's repair finds the listed name from the written one


@pytest.fixture
def small_archive(tmp_path):
    csvs, paintings = tmp_path / "csvs", tmp_path / "paintings"
    csvs.mkdir()
    (csvs / "style_class.txt").write_text("0 Baroque\n1 Cubism\n")
    (csvs / "style_train.csv").write_text(
        "Baroque/a.jpg,0\nBaroque/grã©goire_x.jpg,0\nCubism/b.jpg,1\nCubism/c.jpg,1\n", encoding="utf-8"
    )
    (csvs / "style_val.csv").write_text("Baroque/d.jpg,0\nCubism/b.jpg,1\n", encoding="utf-8")
    (paintings / "Baroque").mkdir(parents=True)
    for shade in (10, 200):
        Image.new("RGB", (20, 30), (shade, 0, 0)).save(paintings / "Baroque" / f"p{shade}.jpg")
    return csvs, paintings


def test_every_listed_name_becomes_a_copy_of_a_real_painting_and_the_index_finds_them_all(tmp_path, small_archive):
    csvs, paintings = small_archive
    archive, counts = full_archive.lay_out(tmp_path / "work", csvs, paintings)
    assert counts["names"] == 5 and counts["spelled_right"] == 1
    assert counts["copies_of_their_own_style"] == 3  # the Baroque rows; Cubism has no paintings of its own
    assert (archive / "Baroque" / "grégoire_x.jpg").is_file()
    assert not (archive / "Baroque" / "grã©goire_x.jpg").exists()
    sources = {p.read_bytes() for p in paintings.glob("*/*.jpg")}
    assert {p.read_bytes() for p in archive.glob("*/*.jpg")} <= sources
    index = index_wikiart(str(archive), "train")
    assert len(index.paths) == 4 and index.class_names == ["Baroque", "Cubism"]
    assert any("1 names matched" in note for note in index.notes)
    assert full_archive.lay_out(tmp_path / "work", csvs, paintings) == (archive, counts)  # reused, not redone
