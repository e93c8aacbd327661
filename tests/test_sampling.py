"""Grids: conditions, layout arrays and PNG sizes."""

import numpy as np
import pytest
from PIL import Image

from models.dcgan import build_dcgan_generator
from sampling import class_grid, fixed_noise, grid_pixel_size, mixed_condition, mixing_matrix, save_grid


def test_mixed_condition():
    assert mixed_condition(0, 2, 3).tolist() == [0.5, 0.0, 0.5]
    assert mixed_condition(0, 2, 3, "sum").tolist() == [1.0, 0.0, 1.0]
    assert mixed_condition(1, 1, 3).tolist() == [0.0, 1.0, 0.0]
    with pytest.raises(ValueError, match="unknown mix mode"):
        mixed_condition(0, 1, 3, "max")


def test_mixing_diagonal_equals_class_grid_with_the_same_noise():
    g = build_dcgan_generator((16, 16, 1), 3, latent_dim=8)
    noise = fixed_noise(5, 3, 8)
    matrix = mixing_matrix(g, [0, 1, 2], noise, 3)
    assert matrix.shape == (3, 3, 16, 16, 1)
    for i in range(3):
        row = class_grid(g, [i], noise[i : i + 1], 3)[0, 0]
        assert np.allclose(matrix[i, i], row, atol=1e-5)
    assert not np.allclose(matrix[0, 1], matrix[0, 0])


def test_fixed_noise_depends_on_seed_only():
    assert np.array_equal(fixed_noise(3, 4, 10), fixed_noise(3, 4, 10))
    assert not np.array_equal(fixed_noise(3, 4, 10), fixed_noise(4, 4, 10))


@pytest.mark.parametrize("size,channels", [(28, 1), (64, 3)])
def test_png_size_and_cell_pixels(tmp_path, size, channels):
    images = np.random.default_rng(0).uniform(-1, 1, (3, 4, size, size, channels)).astype("float32")
    names = ["zero", "one", "a much longer name"]
    path = save_grid(images, tmp_path / "grid.png", row_labels=names, title="epoch 1")
    picture = np.asarray(Image.open(path).convert("RGB"))
    width, height = grid_pixel_size(3, 4, size, names, title="epoch 1")
    assert (picture.shape[1], picture.shape[0]) == (width, height)
    scale = max(1, -(-64 // size))
    cell = np.clip(np.rint((images[2, 3] + 1) * 127.5), 0, 255).astype(np.uint8)
    expected = np.repeat(np.repeat(cell, scale, 0), scale, 1)
    cell_px = size * scale
    bottom_right = picture[-2 - cell_px : -2, -2 - cell_px : -2]
    assert np.array_equal(bottom_right, np.broadcast_to(expected, bottom_right.shape))
