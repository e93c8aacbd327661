"""The grids as labelled figures: images plus the labels and title they are drawn with.

``sample.py`` and the notebooks both go through :func:`draw`, so a grid kind
looks the same wherever it is drawn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sampling.conditions import MIX_FORMULAS, interpolation_weights
from sampling.grids import class_grid, interpolation, mixing_matrix, one_class, same_noise_styles
from sampling.render import render_grid, save_grid

GRID_KINDS = ("class", "mix", "styles", "interp", "one")
# How many noise vectors each kind uses by default; a mixing matrix uses one per chosen class.
DEFAULT_NOISE = {"class": 8, "styles": 4, "interp": 1, "one": 64}
CLASS_COUNT = {"interp": 2, "one": 1}  # kinds that need an exact number of classes


@dataclass
class LabelledGrid:
    images: np.ndarray  # (rows, cols, H, W, C) in [-1, 1]
    row_labels: list | None = None
    col_labels: list | None = None
    title: str | None = None

    def picture(self) -> np.ndarray:
        return render_grid(self.images, self.row_labels, self.col_labels, self.title)

    def save(self, path):
        return save_grid(self.images, path, self.row_labels, self.col_labels, self.title)


def noise_count(kind: str, num_chosen: int, n: int | None = None) -> int:
    """Noise vectors a grid needs: ``n`` (or the kind's default); one per chosen class for a mixing matrix."""
    return num_chosen if kind == "mix" else n or DEFAULT_NOISE[kind]


def draw(kind, generator, classes, class_names, noise, mix="mean", steps=8, columns=8) -> LabelledGrid:
    """One grid of ``kind`` over the chosen class indices, labelled with their names."""
    k = len(class_names)
    chosen = [class_names[c] for c in classes]
    if kind in CLASS_COUNT and len(classes) != CLASS_COUNT[kind]:
        raise ValueError(f"a {kind} grid takes {CLASS_COUNT[kind]} class(es), got {len(classes)}")
    if kind == "class":
        return LabelledGrid(class_grid(generator, classes, noise, k), row_labels=chosen)
    if kind == "mix":
        images = mixing_matrix(generator, classes, noise, k, mix)
        return LabelledGrid(images, chosen, chosen, f"mixing matrix: {MIX_FORMULAS[mix]}")
    if kind == "styles":
        return LabelledGrid(same_noise_styles(generator, classes, noise, k), col_labels=chosen)
    if kind == "interp":
        images = interpolation(generator, classes[0], classes[1], noise, steps, k)
        weights = [f"{t:.2f}" for t in interpolation_weights(steps)]
        return LabelledGrid(images, col_labels=weights, title=f"{chosen[0]} -> {chosen[1]}")
    if kind == "one":
        return LabelledGrid(one_class(generator, classes[0], noise, k, columns), title=chosen[0])
    raise ValueError(f"unknown grid kind {kind!r}; choose one of {', '.join(GRID_KINDS)}")
