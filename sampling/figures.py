"""The grids as labelled figures: images plus the labels and title they are drawn with.

``sample.py`` and the notebooks both go through :func:`draw`, so a grid kind
looks the same wherever it is drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sampling.conditions import MIX_FORMULAS, condition_label, condition_slug, interpolation_weights
from sampling.grids import Cells, class_cells, draw_cells, interpolation_cells, mixing_cells, one_class_cells
from sampling.noise import NoiseChoice
from sampling.render import render_grid, save_grid, save_png, to_pixels

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
    cells: Cells | None = None  # what each image was drawn from, when the grid came from a noise array

    def picture(self) -> np.ndarray:
        return render_grid(self.images, self.row_labels, self.col_labels, self.title)

    def save(self, path, metadata: dict | None = None):
        return save_grid(self.images, path, self.row_labels, self.col_labels, self.title, metadata)


def noise_count(kind: str, num_chosen: int, n: int | None = None) -> int:
    """Noise vectors a grid needs: ``n`` (or the kind's default); one per chosen class for a mixing matrix."""
    return num_chosen if kind == "mix" else n or DEFAULT_NOISE[kind]


def grid_cells(kind, classes, count: int, num_classes: int, mix="mean", steps=8, columns=8) -> Cells:
    """Which noise vector and condition each cell of a ``kind`` grid draws, over ``count`` noise vectors."""
    if kind in CLASS_COUNT and len(classes) != CLASS_COUNT[kind]:
        raise ValueError(f"a {kind} grid takes {CLASS_COUNT[kind]} class(es), got {len(classes)}")
    if kind == "class":
        return class_cells(classes, count, num_classes)
    if kind == "mix":
        return mixing_cells(classes, count, num_classes, mix)
    if kind == "styles":
        return class_cells(classes, count, num_classes).transposed()
    if kind == "interp":
        return interpolation_cells(classes[0], classes[1], count, steps, num_classes)
    if kind == "one":
        return one_class_cells(classes[0], count, num_classes, columns)
    raise ValueError(f"unknown grid kind {kind!r}; choose one of {', '.join(GRID_KINDS)}")


def draw(kind, generator, classes, class_names, noise, mix="mean", steps=8, columns=8) -> LabelledGrid:
    """One grid of ``kind`` over the chosen class indices, labelled with their names."""
    cells = grid_cells(kind, classes, len(noise), len(class_names), mix, steps, columns)
    images = draw_cells(generator, cells, noise)
    return LabelledGrid(images, **grid_labels(kind, [class_names[c] for c in classes], mix, steps), cells=cells)


def grid_labels(kind, chosen, mix="mean", steps=8) -> dict:
    """The row labels, column labels and title of a ``kind`` grid over the chosen class names."""
    if kind == "class":
        return {"row_labels": chosen}
    if kind == "mix":
        return {"row_labels": chosen, "col_labels": chosen, "title": f"mixing matrix: {MIX_FORMULAS[mix]}"}
    if kind == "styles":
        return {"col_labels": chosen}
    if kind == "interp":
        weights = [f"{t:.2f}" for t in interpolation_weights(steps)]
        return {"col_labels": weights, "title": f"{chosen[0]} -> {chosen[1]}"}
    return {"title": chosen[0]}  # one


def save_cells(grid: LabelledGrid, folder, noise: NoiseChoice, class_names, metadata: dict | None = None):
    """One PNG per image of the grid, at the generator's own pixel size, named by its noise and condition
    (``seed7_Baroque+Cubism.png``); each records its seed, condition and truncation beside ``metadata``."""
    indices = [int(index) for index in grid.cells.noise_index.reshape(-1)]
    conditions = grid.cells.conditions.reshape(len(indices), -1)
    images = grid.images.reshape(len(indices), *grid.images.shape[2:])
    slugs = [condition_slug(condition, class_names) for condition in conditions]
    names = [f"{noise.file_part(index)}_{slug}.png" for index, slug in zip(indices, slugs, strict=True)]
    if len(set(names)) < len(names):
        raise ValueError("two images of the grid share a noise vector and a condition")
    paths = []
    for name, image, index, condition in zip(names, images, indices, conditions, strict=True):
        about = {
            **(metadata or {}),
            **noise.metadata(index),
            "condition": [round(float(w), 6) for w in condition],
            "condition_label": condition_label(condition, class_names),
        }
        paths.append(save_png(to_pixels(image), Path(folder) / name, about))
    return paths
