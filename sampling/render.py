"""Grids of images -> labelled PNGs, at a pixel size that is a known function of the layout.

Images are drawn unresampled (``figimage``, each image scaled by an integer
factor), so every cell holds exactly the generated pixels; labels are text
in margins whose size depends only on the label lengths.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image
from PIL.PngImagePlugin import PngInfo

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MIN_CELL_PIXELS = 64  # small images (MNIST's 28 px) are enlarged so titles stay readable
GAP = 2  # pixels between cells
FONT_SIZE = 9
CHAR_PIXELS = 7  # approximate advance of one character at FONT_SIZE and 100 dpi
MARGIN = 6
DPI = 100


def cell_scale(image_size: int) -> int:
    return max(1, math.ceil(MIN_CELL_PIXELS / image_size))


def _label_extent(labels) -> int:
    return 0 if not labels else MARGIN * 2 + CHAR_PIXELS * max(len(str(label)) for label in labels)


def grid_pixel_size(rows, cols, image_size, row_labels=None, col_labels=None, title=None):
    """``(width, height)`` of the PNG that :func:`save_grid` writes for this layout."""
    cell = image_size * cell_scale(image_size)
    left = _label_extent(row_labels)
    top = _label_extent(col_labels) + (FONT_SIZE * 2 + MARGIN if title else 0)
    return left + cols * cell + (cols + 1) * GAP, top + rows * cell + (rows + 1) * GAP


def mosaic_size(count: int, image_size: int) -> int:
    """Pixels along a side of the mosaic of ``count`` cells: the cells and the gaps around them."""
    return count * image_size * cell_scale(image_size) + (count + 1) * GAP


def mosaic(images: np.ndarray) -> np.ndarray:
    """(rows, cols, H, W, C) in [-1, 1] -> one uint8 RGB picture with white gaps."""
    rows, cols, height, width, _ = images.shape
    scale = cell_scale(height)
    pixels = to_pixels(images).repeat(scale, axis=2).repeat(scale, axis=3)
    cell_h, cell_w = height * scale, width * scale
    canvas = np.full((rows * cell_h + (rows + 1) * GAP, cols * cell_w + (cols + 1) * GAP, 3), 255, np.uint8)
    for r in range(rows):
        for c in range(cols):
            y, x = GAP + r * (cell_h + GAP), GAP + c * (cell_w + GAP)
            canvas[y : y + cell_h, x : x + cell_w] = pixels[r, c]
    return canvas


def grid_figure(images, row_labels=None, col_labels=None, title=None) -> Figure:
    """The labels and title on white, with the cells' place left blank for :func:`render_grid` to fill.

    The cells are pasted into the rendered buffer rather than drawn by
    matplotlib: ``figimage`` converts a picture to floating-point RGBA, about
    30 bytes per pixel, which for a 27-style mixing matrix at 256 px (7,000
    px square) is gigabytes. matplotlib loads here, so importing ``sampling``
    stays quick for --help.
    """
    from matplotlib.figure import Figure

    rows, cols, image_size = images.shape[0], images.shape[1], images.shape[2]
    width, height = grid_pixel_size(rows, cols, image_size, row_labels, col_labels, title)
    picture_height = mosaic_size(rows, image_size)
    left = _label_extent(row_labels)
    figure = Figure(figsize=(width / DPI, height / DPI), dpi=DPI, facecolor="white")
    cell = image_size * cell_scale(image_size)
    pitch = cell + GAP
    for r, label in enumerate(row_labels or []):
        y = picture_height - (GAP + r * pitch + cell / 2)
        figure.text((left - MARGIN) / width, y / height, str(label), ha="right", va="center", fontsize=FONT_SIZE)
    for c, label in enumerate(col_labels or []):
        x = left + GAP + c * pitch + cell / 2
        figure.text(
            x / width,
            (picture_height + MARGIN) / height,
            str(label),
            ha="center",
            va="bottom",
            rotation=90,
            fontsize=FONT_SIZE,
        )
    if title:
        figure.text(0.5, 1 - MARGIN / height, title, ha="center", va="top", fontsize=FONT_SIZE + 2)
    return figure


def render_grid(images, row_labels=None, col_labels=None, title=None) -> np.ndarray:
    """The labelled picture as an (H, W, 3) uint8 array: what the PNG holds, for TensorBoard and notebooks."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    images = np.asarray(images)
    canvas = FigureCanvasAgg(grid_figure(images, row_labels, col_labels, title))
    canvas.draw()
    framed = np.asarray(canvas.buffer_rgba())[..., :3].copy()
    picture = mosaic(images)
    left = _label_extent(row_labels)
    framed[framed.shape[0] - picture.shape[0] :, left : left + picture.shape[1]] = picture
    return framed


def save_grid(images, path, row_labels=None, col_labels=None, title=None, metadata: dict | None = None) -> Path:
    """Write a labelled PNG atomically (a kill never leaves a truncated picture), with ``metadata`` as text."""
    return save_png(render_grid(images, row_labels, col_labels, title), path, metadata)


def save_png(picture, path, metadata: dict | None = None) -> Path:
    """An (H, W, 3) uint8 picture as a PNG, written atomically; ``metadata`` goes into its text chunks
    (``PIL.Image.open(path).text``, ``exiftool``, ``identify -verbose``), every value as text."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    info = PngInfo()
    for key, value in (metadata or {}).items():
        info.add_itxt(str(key), value if isinstance(value, str) else json.dumps(value))
    tmp = path.with_name(f".{path.name}.tmp")
    Image.fromarray(np.asarray(picture, np.uint8)).save(tmp, format="png", pnginfo=info)
    os.replace(tmp, path)
    return path


def to_pixels(images) -> np.ndarray:
    """Images in [-1, 1] -> uint8 RGB (grey repeated to three channels), as every picture of the project shows them."""
    pixels = np.clip(np.rint((np.asarray(images) + 1.0) * 127.5), 0, 255).astype(np.uint8)
    return np.repeat(pixels, 3, axis=-1) if pixels.shape[-1] == 1 else pixels


def show_picture(picture, title=None) -> None:
    """Show a picture in a notebook at its own pixel size, unresampled, so cells stay sharp."""
    import matplotlib.pyplot as plt

    picture = np.asarray(picture)
    height, width = picture.shape[:2]
    figure = plt.figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    axes = figure.add_axes((0, 0, 1, 1))
    axes.imshow(picture, interpolation="nearest")
    axes.set_axis_off()
    if title:
        axes.set_title(title)
    plt.show()
