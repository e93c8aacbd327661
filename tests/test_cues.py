"""The cue tests: each perturbation removes what it says and keeps the rest."""

import numpy as np
import pytest

from evaluation import cues


@pytest.fixture(scope="module")
def images():
    """Smooth colour ramps under faint one-pixel stripes: layout, palette and fine texture all present."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:32, 0:32] / 31.0
    base = np.stack([x, y, 1 - x], axis=-1)[None] * rng.uniform(0.5, 1, (6, 1, 1, 3))
    stripes = 0.1 * (-1.0) ** np.arange(32)[None, None, :, None]  # one-pixel columns, light and dark
    return np.clip(0.8 * (base * 2 - 1) + stripes, -1, 1).astype("float32")


@pytest.mark.parametrize("name", list(cues.perturbations(32)))
def test_every_perturbation_keeps_shape_and_range(images, name):
    _, perturb = cues.perturbations(32)[name]
    out = perturb(images)
    assert out.shape == images.shape and out.dtype == np.float32
    assert out.min() >= -1 - 1e-6 and out.max() <= 1 + 1e-6


def stripe_amplitude(images) -> float:
    """How much of the one-pixel column pattern is left."""
    return float(np.abs(np.mean(images * (-1.0) ** np.arange(images.shape[2])[None, None, :, None])))


@pytest.mark.parametrize("perturb", [lambda x: cues.blur(x, 1.0), lambda x: cues.lowres(x, 8)])
def test_blur_and_lowres_take_fine_texture_away(images, perturb):
    assert stripe_amplitude(images) > 0.08
    assert stripe_amplitude(perturb(images)) < 0.5 * stripe_amplitude(images)


def test_jpeg_degrades_more_at_lower_quality(images):
    errors = [np.abs(cues.jpeg(images, quality) - images).mean() for quality in (95, 20)]
    assert 0 < errors[0] < errors[1] < 0.2


def test_lowres_and_blur_keep_the_palette(images):
    for out in (cues.lowres(images, 8), cues.blur(images, 2.0)):
        np.testing.assert_allclose(out.mean(axis=(1, 2)), images.mean(axis=(1, 2)), atol=0.03)


def test_shuffling_patches_moves_tiles_without_changing_them(images):
    out = cues.shuffle_patches(images, 8, seed=1)
    assert not np.array_equal(out, images)
    tiles = lambda a: sorted(a[0, r : r + 8, c : c + 8].tobytes() for r in range(0, 32, 8) for c in range(0, 32, 8))  # noqa: E731
    assert tiles(out) == tiles(images)  # the same 16 tiles, another order
    with pytest.raises(ValueError, match="patch 5 does not divide"):
        cues.shuffle_patches(images, 5)


def test_grey_removes_the_palette_and_posterize_keeps_few_levels(images):
    grey = cues.grey(images)
    np.testing.assert_array_equal(grey[..., 0], grey[..., 2])
    assert len(np.unique(cues.posterize(images, 4))) <= 4


def test_the_cue_table_reads_real_images_and_samples_with_the_same_judge():
    class PaletteJudge:
        """Class 0 if the image is mostly red, else class 1: it reads the palette and nothing else."""

        def predict(self, images):
            red = images[..., 0].mean(axis=(1, 2)) > images[..., 2].mean(axis=(1, 2))
            return None, np.stack([red, ~red], axis=1).astype("float32")

    rng = np.random.default_rng(0)
    labels = np.arange(16) % 2
    real = np.where(labels[:, None, None, None] == 0, [0.8, -0.5, -0.5], [-0.5, -0.5, 0.8]).astype("float32")
    real = np.broadcast_to(real, (16, 32, 32, 3)) + rng.normal(0, 0.05, (16, 32, 32, 3)).astype("float32")
    table = cues.cue_table(PaletteJudge(), real, labels, real[::-1], labels[::-1])
    assert table["none"]["real"] == 1.0 and table["none"]["samples"] == 1.0
    assert table["shuffle 8"]["real"] == 1.0  # a palette judge does not care where things are
    assert table["grey"]["real"] <= 0.5  # and is lost without colour
