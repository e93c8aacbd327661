"""Mixing styles by hand: notebook widgets that redraw a generator's picture as sliders move.

One slider per style gives that style's weight; the condition is the weights
divided by their sum (the paper's mean: two equal weights are its mixing
(e_i + e_j) / 2), or the weights themselves with the switch on ``sum``. The
seed names the noise (``sampling.noise``: seed s is the same z as in
``sample.py --seeds s``), the truncation redraws its outlying components, and
a button moves to new noise. Below the picture, the same condition on the
next seeds. Every change redraws at once, in one batched pass of the generator.

Usage in a notebook::

    from sampling.explorer import StyleExplorer
    StyleExplorer.from_checkpoint("pretrained/wikiart-dcgan-64px.h5")
"""

from __future__ import annotations

import contextlib
import io
import time

import ipywidgets as widgets
import numpy as np
from PIL import Image

from sampling.conditions import MIX_MODES, condition_label, weighted_condition
from sampling.noise import seed_noise
from sampling.render import mosaic, to_pixels

PICTURE_PIXELS = 256  # the main picture's side on screen: whole-pixel enlargement of the generator's image
MAX_SEED = 2**31 - 1


class StyleExplorer:
    """The widgets and their redraw; ``widget`` is what a notebook shows (displaying the explorer shows it)."""

    def __init__(self, generator, class_names, seed: int = 0, truncation: float = 1.0, neighbours: int = 4):
        self.generator = generator
        self.class_names = [str(name) for name in class_names]
        self.latent_dim = int(generator.inputs[0].shape[-1])
        self.neighbour_count = neighbours
        self.redraw_seconds: float | None = None
        self._held = False
        self._draw = compiled_inference(generator)
        label = f"{max(len(name) for name in self.class_names)}ch"  # one width for all: the tracks line up
        self.sliders = [style_slider(name, 1.0 if i == 0 else 0.0, label) for i, name in enumerate(self.class_names)]
        self.mix = widgets.ToggleButtons(options=MIX_MODES, value="mean", description="weights")
        self.seed = widgets.BoundedIntText(value=seed, min=0, max=MAX_SEED, description="seed")
        self.truncation = widgets.FloatSlider(value=truncation, min=0.05, max=1.0, step=0.05, description="truncation")
        self.new_noise = widgets.Button(description="new noise", tooltip="the seed after this one and its neighbours")
        # At their own size: a box's default stretch would scale them to its width, and a browser blurs that.
        self.picture = widgets.Image(format="png", layout=widgets.Layout(align_self="flex-start"))
        self.neighbours = widgets.Image(format="png", layout=widgets.Layout(align_self="flex-start"))
        self.status = widgets.HTML()
        for control in [*self.sliders, self.mix, self.seed, self.truncation]:
            control.observe(self.redraw, names="value")
        self.new_noise.on_click(self.next_noise)
        self.widget = widgets.HBox(
            [
                widgets.VBox([widgets.HTML("<b>styles</b>"), *self.sliders]),
                widgets.VBox(
                    [
                        widgets.HBox([self.mix, self.new_noise]),
                        widgets.HBox([self.seed, self.truncation]),
                        self.picture,
                        widgets.HTML(f"the next {neighbours} seeds:"),
                        self.neighbours,
                        self.status,
                    ]
                ),
            ]
        )
        self.redraw()

    @classmethod
    def from_checkpoint(cls, checkpoint, raw_generator: bool = False, **options) -> StyleExplorer:
        """From a generator .h5 (its weight average when one is beside it), named by its run's classes."""
        from base.networks import load_generator
        from base.rundir import choose_generator
        from sampling.generator_files import checkpoint_config, class_names

        path = choose_generator(checkpoint, raw_generator)
        generator = load_generator(path)
        config = checkpoint_config(path)
        options.setdefault("seed", int(config.get("seed") or 0))
        return cls(generator, class_names(config, int(generator.inputs[1].shape[-1])), **options)

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

    def weights(self) -> np.ndarray:
        return np.array([slider.value for slider in self.sliders], np.float32)

    def condition(self) -> np.ndarray:
        return weighted_condition(self.weights(), self.mix.value)

    def seeds(self) -> list[int]:
        """The picture's seed, then its neighbours'."""
        return [self.seed.value + i for i in range(self.neighbour_count + 1)]

    def noise(self) -> np.ndarray:
        return seed_noise(self.seeds(), self.latent_dim, self.truncation.value)

    def set_weights(self, weights: dict) -> None:
        """Move several sliders (``{"Baroque": 1, "Cubism": 0.5}``, by name or index) with one redraw."""
        with self.held():
            for key, value in weights.items():
                index = key if isinstance(key, int) else self.class_names.index(key)
                self.sliders[index].value = float(value)
        self.redraw()

    @contextlib.contextmanager
    def held(self):
        """Changes inside draw nothing; the caller redraws once after."""
        self._held = True
        try:
            yield
        finally:
            self._held = False

    def next_noise(self, _button=None) -> None:
        self.seed.value = min(MAX_SEED, self.seed.value + self.neighbour_count + 1)

    def images(self) -> np.ndarray:
        """The generator's images for the current controls: the picture's, then the neighbours', in [-1, 1]."""
        noise = self.noise()
        return self._draw(noise, np.repeat(self.condition()[None], len(noise), axis=0))

    def redraw(self, _change=None) -> None:
        if self._held:
            return
        start = time.perf_counter()
        images = self.images()
        enlarge = max(1, PICTURE_PIXELS // images.shape[1])
        self.picture.value = png_bytes(to_pixels(images[0]).repeat(enlarge, axis=0).repeat(enlarge, axis=1))
        self.neighbours.value = png_bytes(mosaic(images[None, 1:]))
        self.redraw_seconds = time.perf_counter() - start
        self.status.value = (
            f"<b>{condition_label(self.condition(), self.class_names)}</b> ({self.mix.value}) &middot; "
            f"seed {self.seed.value} &middot; truncation {self.truncation.value:g} &middot; "
            f"drawn in {1000 * self.redraw_seconds:.0f} ms"
        )

    def time_redraw(self, repeats: int = 20) -> float:
        """The median seconds of a redraw, over ``repeats`` slider moves (the first, warm-up, excluded)."""
        slider = self.sliders[-1]
        original = slider.value
        times = []
        for i in range(repeats + 1):
            slider.value = 0.5 * (i % 2)  # each change redraws
            times.append(self.redraw_seconds)
        slider.value = original
        return float(np.median(times[1:]))


def style_slider(name: str, value: float, label_width: str) -> widgets.FloatSlider:
    return widgets.FloatSlider(
        value=value,
        min=0.0,
        max=1.0,
        step=0.05,
        description=name,
        style={"description_width": label_width},
        layout=widgets.Layout(width=f"calc({label_width} + 200px)"),  # the label, a track and the readout
    )


def compiled_inference(generator):
    """The generator's inference pass traced once for any batch size (a few times faster than an eager call),
    returning NumPy; its images equal ``sampling.generate``'s to within float rounding."""
    import tensorflow as tf

    latent_dim, num_classes = int(generator.inputs[0].shape[-1]), int(generator.inputs[1].shape[-1])
    signature = [tf.TensorSpec([None, latent_dim], tf.float32), tf.TensorSpec([None, num_classes], tf.float32)]
    call = tf.function(lambda z, condition: generator([z, condition], training=False), signature, autograph=False)
    return lambda z, condition: np.asarray(call(np.asarray(z, np.float32), np.asarray(condition, np.float32)))


def png_bytes(picture: np.ndarray) -> bytes:
    """An (H, W, 3) uint8 picture as PNG bytes, fast (no compression search: it is redrawn at every move)."""
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="png", compress_level=1)
    return buffer.getvalue()
