"""Walks: closed tours through noise vectors (on the sphere) or through styles, drawn as animation frames.

A tour visits its stops in order and returns to the first, at constant speed:
frame k of N sits at the arc length k / N of the whole loop, so consecutive
frames are equally far apart, the step from the last frame back to the first
included, and the animation loops without a jump. The noise moves by slerp
(the angle between two Gaussian vectors, not the chord, which would pass close
to the origin where no z is ever drawn); the condition moves along straight
lines between one-hot vectors, so every frame is a condition (1 - t) e_i + t e_j
that sums to 1, the paper's mixing at its midpoints.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sampling.conditions import condition_label, one_hot
from sampling.figures import LabelledGrid
from sampling.grids import Cells, draw_cells

WALKS = ("styles", "z")
FRAMES_PER_STOP = 16  # the default: one second per stop at the default 16 frames per second


def angle(a, b) -> float:
    """The angle between two vectors, in radians."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    cosine = a @ b / (np.linalg.norm(a) * np.linalg.norm(b))
    return float(np.arccos(np.clip(cosine, -1.0, 1.0)))


def slerp(a, b, t: float) -> np.ndarray:
    """From ``a`` (t = 0) to ``b`` (t = 1): the direction along the great circle at constant angular speed
    (Shoemake's slerp of the unit vectors), the length linearly from |a| to |b|.

    Shoemake's formula on the vectors themselves turns at an uneven rate when
    their lengths differ, as two Gaussian draws' do by several per cent.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    length_a, length_b = np.linalg.norm(a), np.linalg.norm(b)
    u, v = a / length_a, b / length_b
    omega = angle(u, v)
    if omega < 1e-6:  # (nearly) parallel: the straight line is the arc
        direction = (1.0 - t) * u + t * v
    else:
        direction = (np.sin((1.0 - t) * omega) * u + np.sin(t * omega) * v) / np.sin(omega)
    return direction / np.linalg.norm(direction) * ((1.0 - t) * length_a + t * length_b)


def loop_positions(lengths, frames: int) -> list[tuple[int, float]]:
    """(segment, t) of ``frames`` points equally spaced along a closed loop of segments of these lengths."""
    lengths = np.asarray(lengths, np.float64)
    total = lengths.sum()
    if total <= 0:
        raise ValueError("a walk needs two different stops at least")
    ends = np.cumsum(lengths)
    positions = []
    for k in range(frames):
        distance = total * k / frames
        segment = int(np.searchsorted(ends, distance, side="right"))
        start = ends[segment] - lengths[segment]
        positions.append((segment, min(1.0, max(0.0, float((distance - start) / lengths[segment])))))
    return positions


def noise_tour(stops, frames: int) -> np.ndarray:
    """``frames`` noise vectors slerping stops[0] -> stops[1] -> ... -> stops[0] at constant angular speed."""
    stops = np.asarray(stops, np.float64)
    following = np.roll(stops, -1, axis=0)
    lengths = [angle(a, b) for a, b in zip(stops, following, strict=True)]
    tour = [slerp(stops[s], following[s], t) for s, t in loop_positions(lengths, frames)]
    return np.asarray(tour, np.float32)


def condition_tour(class_indices, num_classes: int, frames: int) -> np.ndarray:
    """``frames`` conditions moving e_c0 -> e_c1 -> ... -> e_c0 in straight lines at constant speed."""
    stops = one_hot(class_indices, num_classes).astype(np.float64)
    following = np.roll(stops, -1, axis=0)
    lengths = np.linalg.norm(following - stops, axis=1)  # sqrt(2) between two classes, 0 for a class repeated
    tour = [(1.0 - t) * stops[s] + t * following[s] for s, t in loop_positions(lengths, frames)]
    return np.asarray(tour, np.float32)


@dataclass
class Walk:
    """An animation's frames: a labelled grid each, all of one layout."""

    frames: list[LabelledGrid]

    def pictures(self):
        """The labelled frames as (H, W, 3) uint8 pictures, one at a time (a long walk never holds them all)."""
        for frame in self.frames:
            yield frame.picture()


def style_walk(generator, noise, class_indices, class_names, frames: int, noise_labels=None) -> Walk:
    """The condition touring the given classes and back, one column per noise vector (fixed along the walk)."""
    if len(class_indices) < 2:
        raise ValueError("a style walk needs two classes at least")
    conditions = condition_tour(class_indices, len(class_names), frames)
    columns = np.arange(len(noise))[None]
    layouts = [Cells(columns, np.broadcast_to(c, (1, columns.size, c.size))) for c in conditions]
    pictures = draw_frames(generator, layouts, noise)
    labels = [condition_label(condition, class_names) for condition in conditions]
    width = max(map(len, labels))  # the condition left of the row, its margin as wide in every frame
    rows = [[label.rjust(width)] for label in labels]
    return Walk([LabelledGrid(p, rows[f], noise_labels) for f, p in enumerate(pictures)])


def z_walk(generator, stops, class_indices, class_names, frames: int, columns: int = 1, stop_labels=None) -> Walk:
    """The noise touring the stops on the sphere and back, one row per class (fixed along the walk).

    Column c tours the same stops starting c / columns of the way round, so
    the columns show different noise at every moment and all move alike.
    """
    stops = np.asarray(stops, np.float32)
    if len(stops) < 2:
        raise ValueError("a noise walk needs two seeds at least")
    if not 1 <= columns <= len(stops):
        raise ValueError(f"{columns} columns need as many seeds at least (a column starts at each), got {len(stops)}")
    tours = np.concatenate(
        [noise_tour(np.roll(stops, -(c * len(stops) // columns), axis=0), frames) for c in range(columns)]
    )  # column c's frame f is tours[c * frames + f]
    rows, num_classes = len(class_indices), len(class_names)
    conditions = np.broadcast_to(one_hot(class_indices, num_classes)[:, None], (rows, columns, num_classes))
    layouts = [
        Cells(np.broadcast_to(np.arange(columns) * frames + f, (rows, columns)), conditions) for f in range(frames)
    ]
    names = [str(class_names[c]) for c in class_indices]
    title = "noise through " + (", ".join(map(str, stop_labels)) if stop_labels else f"{len(stops)} vectors")
    pictures = draw_frames(generator, layouts, tours)
    return Walk([LabelledGrid(images, row_labels=names, title=title) for images in pictures])


def draw_frames(generator, layouts, noise) -> list[np.ndarray]:
    """The images of several layouts of one shape, drawn in one batched pass (stacked, then split)."""
    tall = Cells(
        np.concatenate([layout.noise_index for layout in layouts]),
        np.concatenate([layout.conditions for layout in layouts]),
    )
    return np.split(draw_cells(generator, tall, noise), len(layouts))
