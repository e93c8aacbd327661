"""A dataset is one entry in data.sources.SOURCES: the loader, the flags and the settings all read it."""

from __future__ import annotations

import numpy as np

import data
from data import sources
from training.cli import OneLineErrorParser
from training.recipes.dcgan import RECIPE as DCGAN


def test_the_flags_and_the_settings_defaults_come_from_the_table(tmp_path):
    parser = DCGAN.parser()
    assert isinstance(parser, OneLineErrorParser)
    dataset_flag = next(action for action in parser._actions if action.dest == "dataset")
    assert tuple(dataset_flag.choices) == tuple(sources.SOURCES)
    for name, entry in sources.SOURCES.items():
        settings = DCGAN.settings(name, out=str(tmp_path / name), data_dir=str(tmp_path) if entry.index else None)
        assert settings.data.image_size == entry.image_size, name
        assert settings.data.flip is entry.flipped, name


def test_a_new_entry_is_read_by_load_images_at_its_default_size(monkeypatch):
    """A toy source of arrays: three classes of 12 px colour images, resized to the entry's side."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (30, 12, 12, 3), dtype=np.uint8)
    labels = np.repeat(np.arange(3), 10)
    toy = sources.Source(8, 3, False, arrays=lambda data_dir, size: (images, labels, ["a", "b", "c"], None))
    monkeypatch.setitem(sources.SOURCES, "toy", toy)
    loaded = data.load_images("toy", progress=False)
    assert loaded.image_shape == (8, 8, 3)
    assert loaded.class_names == ["a", "b", "c"]
    assert loaded.class_counts().tolist() == [10, 10, 10]
    assert not data.has_validation_split("toy", None)


def test_top_styles_is_refused_by_the_sources_without_style_splits():
    import pytest

    from base.errors import UserError

    sources.check_top_styles("wikiart", 3)
    with pytest.raises(UserError, match="--top-styles applies to --dataset wikiart only"):
        sources.check_top_styles("digits", 3)
