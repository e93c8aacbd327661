"""The style explorer: sliders moved by hand give the generator's picture for that condition."""

import io

import keras
import nbformat
import numpy as np
import pytest
from PIL import Image

import sampling
from models.dcgan import build_dcgan_generator
from sampling.explorer import StyleExplorer
from tests.conftest import ROOT
from tests.test_looking_at_results import execute_notebook

NAMES = ["Baroque", "Cubism", "Pop_Art", "Ukiyo_e"]
LATENT, SIZE = 6, 16


@pytest.fixture(scope="module")
def generator():
    generator = build_dcgan_generator((SIZE, SIZE, 3), len(NAMES), latent_dim=LATENT, filters=8, upsampling="nearest")
    rng = np.random.default_rng(1)
    for layer in generator.layers:  # statistics away from 0 and 1, as training leaves them
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(rng.normal(0, 0.3, layer.moving_mean.shape).astype("float32"))
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, layer.moving_variance.shape).astype("float32"))
    return generator


def shown(image_widget) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(image_widget.value)).convert("RGB")).astype(int)


def expected(generator, seeds, condition, truncation=1.0) -> np.ndarray:
    """What the generator draws for these seeds and this condition, as the project's pictures show it."""
    noise = sampling.seed_noise(seeds, LATENT, truncation)
    return sampling.to_pixels(sampling.generate(generator, noise, np.repeat(condition[None], len(seeds), 0)))


def assert_picture_is(explorer, generator, condition, truncation=1.0):
    picture = shown(explorer.picture)
    enlarge = picture.shape[0] // SIZE
    assert picture.shape == (SIZE * enlarge, SIZE * enlarge, 3) and enlarge == 16  # 256 px on screen
    assert np.array_equal(picture, picture[::enlarge, ::enlarge].repeat(enlarge, 0).repeat(enlarge, 1))  # no blur
    want = expected(generator, explorer.seeds(), np.asarray(condition, np.float32), truncation)
    assert np.abs(picture[::enlarge, ::enlarge] - want[0]).max() <= 1  # compiled vs eager: float rounding only
    neighbours = shown(explorer.neighbours)
    cells = sampling.render.mosaic(want[1:][None].astype(np.float32) / 127.5 - 1.0)
    assert neighbours.shape == cells.shape and np.abs(neighbours - cells).max() <= 1


def test_moving_sliders_draws_the_generators_picture_for_that_condition(generator):
    explorer = StyleExplorer(generator, NAMES, seed=5)
    assert_picture_is(explorer, generator, [1, 0, 0, 0])  # the first style to start with
    explorer.sliders[2].value = 1.0  # Baroque and Pop_Art at the same height: the paper's mixing
    assert np.allclose(explorer.condition(), sampling.mixed_condition(0, 2, 4))
    assert_picture_is(explorer, generator, [0.5, 0, 0.5, 0])
    assert "Baroque + Pop_Art" in explorer.status.value
    explorer.sliders[0].value = 0.25  # weights 0.25 and 1: normalised, 0.2 and 0.8
    assert_picture_is(explorer, generator, [0.2, 0, 0.8, 0])
    assert "Baroque 0.20 + Pop_Art 0.80" in explorer.status.value
    explorer.mix.value = "sum"  # the weights as they are
    assert_picture_is(explorer, generator, [0.25, 0, 1, 0])


def test_seed_truncation_and_new_noise_redraw(generator):
    explorer = StyleExplorer(generator, NAMES, seed=5, neighbours=3)
    explorer.set_weights({"Cubism": 1, "Baroque": 0, 3: 0.5})
    assert_picture_is(explorer, generator, [0, 2 / 3, 0, 1 / 3])
    before = explorer.picture.value
    explorer.seed.value = 40
    assert explorer.seeds() == [40, 41, 42, 43] and explorer.picture.value != before
    assert_picture_is(explorer, generator, [0, 2 / 3, 0, 1 / 3])
    explorer.truncation.value = 0.3
    assert_picture_is(explorer, generator, [0, 2 / 3, 0, 1 / 3], truncation=0.3)
    explorer.new_noise.click()  # past the picture's seed and its neighbours: all new
    assert explorer.seed.value == 44
    assert_picture_is(explorer, generator, [0, 2 / 3, 0, 1 / 3], truncation=0.3)


def test_set_weights_redraws_once_and_no_style_is_the_zero_condition(generator):
    explorer = StyleExplorer(generator, NAMES)
    draws = []
    original = explorer.images
    explorer.images = lambda: draws.append(1) or original()
    explorer.set_weights({name: 0 for name in NAMES})
    assert len(draws) == 1  # four sliders moved, one redraw
    assert np.array_equal(explorer.condition(), np.zeros(4, np.float32)) and "no style" in explorer.status.value
    assert_picture_is(explorer, generator, [0, 0, 0, 0])
    assert explorer.redraw_seconds is not None and explorer.time_redraw(3) > 0


def test_from_checkpoint_takes_the_runs_class_names_and_seed(generator, tmp_path):
    (tmp_path / "g.h5").parent.mkdir(exist_ok=True)
    generator.save(tmp_path / "g.h5")
    (tmp_path / "g.json").write_text('{"class_names": ["a", "b", "c", "d"], "seed": 9}')
    explorer = StyleExplorer.from_checkpoint(tmp_path / "g.h5")
    assert explorer.class_names == ["a", "b", "c", "d"] and explorer.seed.value == 9
    assert [slider.description for slider in explorer.sliders] == ["a", "b", "c", "d"]


def test_explore_notebook_shows_the_widgets_and_times_a_redraw(generator, tmp_path, monkeypatch):
    generator.save(tmp_path / "g.h5")
    outputs = execute_notebook("explore", {"CHECKPOINT": str(tmp_path / "g.h5"), "SEED": 3}, monkeypatch)
    views = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(views) == 1  # the explorer's widget, which a browser draws from the notebook's widget state
    printed = "".join(o.get("text", "") for o in outputs)
    assert "4 styles, z of 6" in printed and "redraw at 16 px: median" in printed


def test_explore_notebook_is_committed_without_outputs():
    notebook = nbformat.read(ROOT / "notebooks" / "explore.ipynb", as_version=4)
    nbformat.validate(notebook)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    assert "sys.path.insert(0, str(ROOT))" in code[0].source
