"""A run's training as an animation: its per-epoch sample grids (samples/epoch_NNN.png), one frame each.

The grids are the run's own files, drawn from the same noise every epoch, so
a cell shows one z learning. Each frame gets a band below the grid that names
its epoch and fills a bar as the run goes on, whatever the grid's own title says.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from PIL import Image

from base.errors import UserError
from base.rundir import RunDirectory
from sampling.render import DPI, FONT_SIZE, MARGIN

GRID_NAME = re.compile(r"^epoch_(\d+)\.png$")
BAR_HEIGHT = 4
CAPTION_HEIGHT = FONT_SIZE * 2 + MARGIN * 2 + BAR_HEIGHT


def epoch_grids(run_dir) -> list[tuple[int, Path]]:
    """(epoch, grid PNG) of a run, in epoch order."""
    run = RunDirectory(run_dir)
    if not run.root.is_dir():
        raise UserError(f"no such run directory: {run.root}")
    found = sorted(
        (int(match.group(1)), path)
        for path in (run.samples.iterdir() if run.samples.is_dir() else [])
        if (match := GRID_NAME.match(path.name))
    )
    if not found:
        raise UserError(f"{run.samples} holds no per-epoch grids (epoch_NNN.png); train the run first")
    return found


def timelapse_frames(run_dir):
    """The captioned frames, one per epoch grid, all of one size (smaller grids padded with white)."""
    grids = epoch_grids(run_dir)
    pictures = [np.asarray(Image.open(path).convert("RGB")) for _, path in grids]
    height = max(picture.shape[0] for picture in pictures)
    width = max(picture.shape[1] for picture in pictures)
    last = grids[-1][0]
    for (epoch, _), picture in zip(grids, pictures, strict=True):
        canvas = np.full((height, width, 3), 255, np.uint8)
        canvas[: picture.shape[0], : picture.shape[1]] = picture
        yield with_caption(canvas, f"epoch {epoch} of {last}", epoch / last)


def with_caption(picture: np.ndarray, caption: str, progress: float) -> np.ndarray:
    """The picture above a white band holding ``caption`` and a bar filled to ``progress`` (0 to 1) of its width."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    height, width = picture.shape[:2]
    total = height + CAPTION_HEIGHT
    figure = Figure(figsize=(width / DPI, total / DPI), dpi=DPI, facecolor="white")
    figure.text(0.5, (BAR_HEIGHT + MARGIN * 1.5) / total, caption, ha="center", va="bottom", fontsize=FONT_SIZE + 1)
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    framed = np.asarray(canvas.buffer_rgba())[..., :3].copy()
    framed[:height] = picture  # pasted, not drawn: matplotlib's figimage holds a picture as floating-point RGBA
    filled = round(progress * width)
    framed[-BAR_HEIGHT:] = 220  # the bar's track, light grey
    framed[-BAR_HEIGHT:, :filled] = (40, 90, 160)
    return framed
