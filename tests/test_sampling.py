"""Grids: conditions, layout arrays and PNG sizes."""

import os

import numpy as np
import pytest
from PIL import Image

from base.errors import UserError
from base.rundir import newest_run
from models.dcgan import build_dcgan_generator
from sampling import (
    class_grid,
    class_names,
    draw,
    fixed_noise,
    generate,
    grid_pixel_size,
    interpolated_conditions,
    interpolation,
    mixed_condition,
    mixing_matrix,
    one_class,
    one_hot,
    render_grid,
    same_noise_styles,
    save_grid,
    select_classes,
)

K, SIZE, LATENT = 4, 16, 8


@pytest.fixture(scope="module")
def generator():
    return build_dcgan_generator((SIZE, SIZE, 1), K, latent_dim=LATENT)


def test_mixed_condition():
    assert mixed_condition(0, 2, 3).tolist() == [0.5, 0.0, 0.5]
    assert mixed_condition(0, 2, 3, "sum").tolist() == [1.0, 0.0, 1.0]
    assert mixed_condition(1, 1, 3).tolist() == [0.0, 1.0, 0.0]
    with pytest.raises(ValueError, match="unknown mix mode"):
        mixed_condition(0, 1, 3, "max")


def test_one_hot_rejects_indices_outside_the_classes():
    with pytest.raises(ValueError, match="class index -1 is out of range for 3 classes"):
        one_hot([0, -1], 3)  # numpy indexing would silently give e_2
    with pytest.raises(ValueError, match="class index 3 is out of range"):
        one_hot(3, 3)


def test_interpolated_conditions_run_from_e_i_to_e_j():
    steps = interpolated_conditions(0, 2, 3, 5)
    assert steps[0].tolist() == [1, 0, 0] and steps[-1].tolist() == [0, 0, 1]
    assert np.array_equal(steps[2], mixed_condition(0, 2, 3))  # the midpoint is the paper's mixing
    assert np.allclose(steps.sum(axis=1), 1) and np.all(np.diff(steps[:, 2]) > 0)
    with pytest.raises(ValueError, match="at least 2 steps"):
        interpolated_conditions(0, 2, 3, 1)


def test_mixing_diagonal_equals_class_grid_with_the_same_noise():
    g = build_dcgan_generator((16, 16, 1), 3, latent_dim=8)
    noise = fixed_noise(5, 3, 8)
    matrix = mixing_matrix(g, [0, 1, 2], noise, 3)
    assert matrix.shape == (3, 3, 16, 16, 1)
    for i in range(3):
        row = class_grid(g, [i], noise[i : i + 1], 3)[0, 0]
        assert np.allclose(matrix[i, i], row, atol=1e-5)
    assert not np.allclose(matrix[0, 1], matrix[0, 0])


def test_mixing_matrix_of_a_subset_and_the_sum_mode(generator):
    noise = fixed_noise(1, 2, LATENT)
    matrix = mixing_matrix(generator, [3, 1], noise, K, mode="sum")
    assert matrix.shape == (2, 2, SIZE, SIZE, 1)
    assert np.allclose(matrix[0, 0], class_grid(generator, [3], noise[:1], K)[0, 0], atol=1e-5)
    summed = generate(generator, noise[:1], mixed_condition(3, 1, K, "sum")[None])[0]
    assert np.allclose(matrix[0, 1], summed, atol=1e-5)
    assert not np.allclose(matrix[0, 1], mixing_matrix(generator, [3, 1], noise, K)[0, 1], atol=1e-3)


def test_interpolation_ends_are_the_one_hot_grids_of_i_and_j(generator):
    noise = fixed_noise(2, 3, LATENT)
    path = interpolation(generator, 1, 3, noise, 6, K)
    assert path.shape == (3, 6, SIZE, SIZE, 1)
    assert np.allclose(path[:, 0], class_grid(generator, [1], noise, K)[0], atol=1e-5)
    assert np.allclose(path[:, -1], class_grid(generator, [3], noise, K)[0], atol=1e-5)
    assert not np.allclose(path[:, 2], path[:, 0], atol=1e-3)
    single = interpolation(generator, 1, 3, noise[0], 6, K)  # one noise vector: one row
    assert single.shape == (1, 6, SIZE, SIZE, 1) and np.allclose(single[0], path[0], atol=1e-5)


def test_same_noise_styles_is_the_class_grid_transposed(generator):
    noise = fixed_noise(3, 2, LATENT)
    styles = same_noise_styles(generator, [2, 0, 3], noise, K)
    assert styles.shape == (2, 3, SIZE, SIZE, 1)  # rows: noise vectors, columns: classes
    grid = class_grid(generator, [2, 0, 3], noise, K)
    assert np.allclose(styles[1, 2], grid[2, 1], atol=1e-5)
    assert not np.allclose(styles[0, 0], styles[0, 1], atol=1e-3)  # a row changes style


def test_one_class_fills_rows_of_columns(generator):
    noise = fixed_noise(4, 6, LATENT)
    grid = one_class(generator, 2, noise, K, columns=3)
    assert grid.shape == (2, 3, SIZE, SIZE, 1)
    flat = class_grid(generator, [2], noise, K)[0]
    assert np.allclose(grid[1, 0], flat[3], atol=1e-5)  # row by row
    with pytest.raises(ValueError, match="do not fill rows of 4"):
        one_class(generator, 2, noise, K, columns=4)


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
    assert np.array_equal(render_grid(images, names, title="epoch 1"), picture)  # TensorBoard sees the PNG


def test_the_cells_are_pasted_into_the_labelled_picture_not_drawn_by_matplotlib(monkeypatch):
    """figimage holds a picture as floating-point RGBA: gigabytes for a 27-style mixing matrix at 256 px."""
    from matplotlib.figure import Figure

    images = np.random.default_rng(1).uniform(-1, 1, (2, 3, 16, 16, 3)).astype("float32")
    labels = ["a", "b"]
    drawn = render_grid(images, labels, ["x", "y", "z"], "title")

    def refuse(*args, **kwargs):
        raise AssertionError("figimage called")

    monkeypatch.setattr(Figure, "figimage", refuse)
    assert np.array_equal(render_grid(images, labels, ["x", "y", "z"], "title"), drawn)
    cell = np.clip(np.rint((images[0, 0] + 1) * 127.5), 0, 255).astype(np.uint8).repeat(4, 0).repeat(4, 1)
    top = drawn.shape[0] - (2 * 64 + 3 * 2)  # the mosaic's first row: two 64 px cells and three gaps above the bottom
    left = 6 * 2 + 7  # the row labels' margin
    assert np.array_equal(drawn[top + 2 : top + 66, left + 2 : left + 66], cell)


NAMES = ["Baroque", "Cubism", "Pop_Art", "Fauvism"]
LAYOUTS = {  # kind, classes, noise count -> (rows, cols, row labels, column labels, title)
    "class": ([0, 2], 5, (2, 5, ["Baroque", "Pop_Art"], None, None)),
    "mix": ([0, 1, 3], 3, (3, 3, ["Baroque", "Cubism", "Fauvism"], ["Baroque", "Cubism", "Fauvism"], "mixing")),
    "styles": ([0, 1, 2, 3], 2, (2, 4, None, NAMES, None)),
    "interp": ([1, 3], 2, (2, 5, None, ["0.00", "0.25", "0.50", "0.75", "1.00"], "Cubism -> Fauvism")),
    "one": ([2], 6, (2, 3, None, None, "Pop_Art")),
}


@pytest.mark.parametrize("kind", list(LAYOUTS))
def test_each_grid_png_has_the_pixel_size_of_its_layout(generator, tmp_path, kind):
    classes, count, (rows, cols, row_labels, col_labels, title) = LAYOUTS[kind]
    grid = draw(kind, generator, classes, NAMES, fixed_noise(0, count, LATENT), steps=5, columns=3)
    assert grid.images.shape[:2] == (rows, cols)
    assert (grid.row_labels, grid.col_labels) == (row_labels, col_labels)
    assert (grid.title or "").startswith(title or "")
    size = Image.open(grid.save(tmp_path / f"{kind}.png")).size
    assert size == grid_pixel_size(rows, cols, SIZE, row_labels, col_labels, grid.title)


def test_draw_checks_the_number_of_classes(generator):
    with pytest.raises(ValueError, match="interp grid takes 2 class"):
        draw("interp", generator, [0, 1, 2], NAMES, fixed_noise(0, 1, LATENT))


def test_classes_by_index_or_name():
    assert select_classes(["3", "baroque", "Cubism", 2], NAMES) == [3, 0, 1, 2]
    assert select_classes(None, NAMES) == [0, 1, 2, 3]
    with pytest.raises(UserError, match=r"class 4 is out of range: the generator has 4 classes \(0-3\)"):
        select_classes(["4"], NAMES)
    with pytest.raises(UserError, match="unknown class 'Rococo'; the classes are Baroque, Cubism"):
        select_classes(["Rococo"], NAMES)


def test_class_names_fall_back_to_indices():
    assert class_names({"class_names": NAMES}, 4) == NAMES
    assert class_names({"class_names": NAMES}, 5) == ["0", "1", "2", "3", "4"]  # another run's config
    assert class_names(None, 2) == ["0", "1"]


def test_newest_run_is_the_last_written(tmp_path):
    with pytest.raises(UserError, match="no run directories"):
        newest_run(tmp_path)
    for name, stamp in [("old", 1_000), ("new", 2_000), ("older", 500)]:
        config = tmp_path / name / "config.json"
        config.parent.mkdir()
        config.write_text("{}")
        os.utime(config, (stamp, stamp))
    (tmp_path / "not-a-run").mkdir()
    assert newest_run(tmp_path) == tmp_path / "new"


def test_generation_is_chunked_by_pixels_and_the_chunks_do_not_change_the_images():
    """A 256 px generator is called with a sixteenth of the 64 px chunk: a call's activations grow with its pixels."""
    from sampling import grids

    calls = []

    def recording(size):
        model = build_dcgan_generator((size, size, 3), K, latent_dim=LATENT, filters=8)

        def call(inputs, training=False):
            calls.append((size, len(inputs[0])))
            return model(inputs, training=training)

        call.output_shape = model.output_shape
        return call, model

    rng = np.random.default_rng(0)
    noise, conditions = rng.standard_normal((70, LATENT)), one_hot(np.arange(70) % K, K)
    small, small_model = recording(64)
    images = generate(small, noise, conditions)
    assert [n for _, n in calls] == [64, 6]
    np.testing.assert_allclose(images, np.asarray(small_model([noise, conditions], training=False)), atol=1e-5)
    calls.clear()
    generate(recording(256)[0], noise[:9], conditions[:9])
    assert [n for _, n in calls] == [4, 4, 1] == [grids.CHUNK_PIXELS // 256**2] * 2 + [1]
